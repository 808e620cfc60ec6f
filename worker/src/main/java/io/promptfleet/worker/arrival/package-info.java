/**
 * What becomes of an assignment when a lane delivers it to this worker: run it now, or hold it, wait for its claim,
 * hand it back, or acknowledge it without a run ({@link io.promptfleet.worker.arrival.ArrivalRule}). Pure logic over
 * the worker's memory of releases and claims; the worker acts on the verdict.
 */
package io.promptfleet.worker.arrival;
