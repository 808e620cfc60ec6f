/** Cancellation: the one owner of the cancels-topic consumer, and the memory of recent cancels. */
package io.promptfleet.worker.cancel;
