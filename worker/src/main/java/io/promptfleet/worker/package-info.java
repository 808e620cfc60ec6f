/** The worker process: takes assignments from the share group and streams completions to reply topics. */
package io.promptfleet.worker;
