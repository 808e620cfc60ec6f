/** The worker's meter catalogue: every meter it registers, and the binding of its Kafka client metrics. */
package io.promptfleet.worker.metrics;
