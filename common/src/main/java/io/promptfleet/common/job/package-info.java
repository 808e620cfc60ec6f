/**
 * The wire contract as immutable records: jobs, assignments, reply records and fleet events; no Kafka or Vert.x here.
 * Null-marked: a type is non-null unless it says {@code @Nullable}.
 */
@NullMarked
package io.promptfleet.common.job;

import org.jspecify.annotations.NullMarked;
