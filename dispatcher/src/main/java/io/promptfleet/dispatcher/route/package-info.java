/**
 * Routes: the fallback policy that walks a model's chain to a route and key ({@link
 * io.promptfleet.dispatcher.route.RoutePlanner}: wait while the route is merely busy, move on when it is open,
 * its keys are down, or it cannot serve the job), per-route circuit breakers on errors and 429s ({@link
 * io.promptfleet.dispatcher.route.RouteBreakers}), the slowness judge that stops a route only for jobs with a
 * fallback ({@link io.promptfleet.dispatcher.route.SlowCalls}), and the fallback counts ({@link
 * io.promptfleet.dispatcher.route.Fallbacks}).
 */
package io.promptfleet.dispatcher.route;
