/** What operators see: a periodic snapshot of keys, routes, queues, workers and totals, and the dashboard. */
package io.promptfleet.dispatcher.status;
