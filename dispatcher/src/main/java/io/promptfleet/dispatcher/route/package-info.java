/**
 * Routes: per-route circuit breakers (the rollback triggers) and the planner that walks a model's fallback chain to
 * a route and key with room.
 */
package io.promptfleet.dispatcher.route;
