/**
 * The dispatcher process: a loop owner that alone holds the Kafka clients, and a core without Kafka that reads jobs
 * by priority and writes assignments for keys with capacity, transactionally.
 */
package io.promptfleet.dispatcher;
