package io.promptfleet.common.job;

/**
 * One worker's connections to one provider, as its heartbeat reports them ({@code FleetEvent.connections}). Gauges
 * are the values now; counters run from the worker's start, so a reader derives rates (connects per second, mean
 * connect time) from two heartbeats of the same worker. Immutable.
 *
 * @param provider          the provider's configured name
 * @param open              connections open now
 * @param http2             of those, connections that speak HTTP/2
 * @param streams           exchanges in flight on them
 * @param waiting           requests waiting for a connection (in the worker's connect gate or at the pool)
 * @param opened            connections opened since the worker started (counter)
 * @param connectsTimed     connects whose time is in {@code connectTimeMicros}: those whose first request waited for
 *                          them (counter; about {@code opened})
 * @param connectTimeMicros summed time of those connects, from the request leaving the connect gate to the
 *                          connection being ready (TCP connect, TLS handshake, ALPN), in microseconds (counter; its
 *                          change over the change in {@code connectsTimed} is the mean connect time between two
 *                          heartbeats)
 * @param connectFailures   requests that got no connection, the provider's failures ({@code connect_failed},
 *                          counted by its route's breaker) (counter)
 * @param connectOverloaded requests that got no connection because of the worker's own load
 *                          ({@code connect_overloaded}, neutral for breakers) (counter)
 */
public record ProviderConnectionStats(String provider, int open, int http2, int streams, int waiting, long opened,
    long connectsTimed, long connectTimeMicros, long connectFailures, long connectOverloaded) {}
