/** What one dispatch round writes in one Kafka transaction: answers, dead letters, assignments and the offsets. */
package io.promptfleet.dispatcher.transaction;
