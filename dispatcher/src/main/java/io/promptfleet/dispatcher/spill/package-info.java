/**
 * Where a model's jobs beyond its share of the dispatcher's buffer wait: its spill topic, one partition per lane,
 * written in the dispatch transaction and read back as the model catches up, so no model's backlog holds up
 * another's on the job topics they share.
 */
package io.promptfleet.dispatcher.spill;
