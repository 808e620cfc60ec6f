/**
 * High availability: one active dispatcher per group, chosen by Kafka group membership (standbys hold nothing), and
 * the takeover that rebuilds the lease table from records read back.
 */
package io.promptfleet.dispatcher.ha;
