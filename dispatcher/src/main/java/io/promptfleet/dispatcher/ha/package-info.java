/** High availability: one active dispatcher per group, chosen by Kafka group membership; standbys hold nothing. */
package io.promptfleet.dispatcher.ha;
