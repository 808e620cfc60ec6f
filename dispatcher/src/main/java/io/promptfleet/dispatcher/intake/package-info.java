/** Turns a job record into a decision: dispatch it, reject it with a result, or dead-letter it. */
package io.promptfleet.dispatcher.intake;
