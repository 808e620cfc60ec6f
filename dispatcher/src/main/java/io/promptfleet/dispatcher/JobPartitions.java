package io.promptfleet.dispatcher;

import io.promptfleet.dispatcher.schedule.BackPressure;
import io.promptfleet.dispatcher.spill.Spill;

/**
 * What the core asks of the loop owner's job consumer each round ({@link DispatcherCore#settle}): pause and resume
 * lanes ({@link BackPressure}), pause and resume single partitions (a model's spill partition, a tenant's partition
 * while its jobs wait for budget), and where the consumer stands on a partition ({@link Spill}). {@code Dispatcher}
 * implements it on its consumer; tests and the simulation record the calls.
 */
public interface JobPartitions extends BackPressure.Partitions, Spill.Pauses, Spill.Positions {}
