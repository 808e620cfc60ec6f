/** Per-route circuit breakers: the rollback triggers that send traffic down a model's fallback chain. */
package io.promptfleet.dispatcher.route;
