/** The wire contract as immutable records: jobs, assignments, reply records and fleet events; no Kafka or Vert.x here. */
package io.promptfleet.common.job;
