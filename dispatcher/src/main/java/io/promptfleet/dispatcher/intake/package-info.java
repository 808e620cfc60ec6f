/**
 * Turns a job record into a decision (dispatch it, answer it, or dead-letter it) and admits it to the ready
 * queues; the outbox holds the answers and dead letters for the next transaction.
 */
package io.promptfleet.dispatcher.intake;
