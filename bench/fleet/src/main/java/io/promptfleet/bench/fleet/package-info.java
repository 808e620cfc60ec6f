/**
 * The fleet as separate processes on a replicated Kafka cluster: a fault suite whose checker reads every topic
 * and counts lost and duplicated results, and a scale-out benchmark of worker processes.
 */
package io.promptfleet.bench.fleet;
