/**
 * What operators see: a periodic snapshot of keys, routes, queues, workers and totals, the dashboard, and every
 * meter of the dispatcher.
 */
package io.promptfleet.dispatcher.status;
