package io.promptfleet.dispatcher.status;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The fleet as the dispatcher sees it at one moment; served as JSON at {@code /api/status}. Immutable.
 *
 * @param at         when it was taken
 * @param dispatcher this instance and whether it is the active one
 * @param queues     jobs waiting in the dispatcher per lane (retry, high, normal, low)
 * @param keys       every key's use of its limits
 * @param routes     every route's breaker state, slowness and fallback traffic
 * @param workers    workers seen by heartbeat in the last minute
 * @param connections those workers' connections to each provider, summed (from their heartbeats)
 * @param totals     assignments, tokens, tokens/s and cost since this dispatcher started
 */
public record StatusSnapshot(Instant at, DispatcherInfo dispatcher, Map<String, Integer> queues, List<KeyStatus> keys,
    List<RouteStatus> routes, List<WorkerStatus> workers, List<ProviderConnectionStatus> connections, Totals totals,
    Batches batches) {

  /** A snapshot without provider batches (the form before the batcher). */
  public StatusSnapshot(Instant at, DispatcherInfo dispatcher, Map<String, Integer> queues, List<KeyStatus> keys,
      List<RouteStatus> routes, List<WorkerStatus> workers, List<ProviderConnectionStatus> connections,
      Totals totals) {
    this(at, dispatcher, queues, keys, routes, workers, connections, totals, Batches.NONE);
  }

  /**
   * Provider batches ({@code batch.Batcher}).
   *
   * @param waiting        jobs in batches not answered yet
   * @param collecting     batches collecting (not created at the provider yet)
   * @param submitted      batches created at the provider and polled
   * @param tokensEnqueued estimated tokens of the jobs in open batches
   * @param savingsUsd     live price minus batch price of the tokens batches served, since this dispatcher started
   */
  public record Batches(long waiting, long collecting, long submitted, long tokensEnqueued, double savingsUsd) {
    public static final Batches NONE = new Batches(0, 0, 0, 0, 0);
  }

  /**
   * This dispatcher. {@code successorsEnabled}: whether it writes successor assignments now
   * ({@code dispatcher.successors}; with {@code auto}, while every live worker reports the current successor rules).
   */
  public record DispatcherInfo(String instance, boolean active, boolean successorsEnabled) {

    public DispatcherInfo(String instance, boolean active) {
      this(instance, active, false);
    }
  }

  /**
   * One key; never its secret. {@code providerBudgetMs}: while the provider's last rate-limit headers report no
   * request or no token left, how long until their reset (no job goes to the key meanwhile); else 0.
   * {@code successorsWaiting}: successor assignments ({@code dispatcher.successors}) waiting for a lease of the key to
   * end (they hold no unit of its concurrency).
   */
  public record KeyStatus(String name, String provider, int inFlight, int maxConcurrency, long requestsUsed,
      long requestsLimit, long tokensUsed, long tokensLimit, long cooldownMs, long providerBudgetMs,
      String disabled, int successorsWaiting) {

    public KeyStatus(String name, String provider, int inFlight, int maxConcurrency, long requestsUsed,
        long requestsLimit, long tokensUsed, long tokensLimit, long cooldownMs, long providerBudgetMs,
        String disabled) {
      this(name, provider, inFlight, maxConcurrency, requestsUsed, requestsLimit, tokensUsed, tokensLimit,
          cooldownMs, providerBudgetMs, disabled, 0);
    }
  }

  /**
   * One route: its breaker, whether it is slow, and its fallback traffic.
   *
   * @param name          provider/model as configured
   * @param breaker       CLOSED, OPEN or HALF_OPEN: whether it takes traffic
   * @param slow          its first tokens are above the slow-call rate (a route with no fallback keeps serving)
   * @param fallbacksIn   jobs it took although it was not first in their chain
   * @param fallbacksOut  jobs whose chain starts at it that went to a later route
   */
  public record RouteStatus(String name, String breaker, boolean slow, long fallbacksIn, long fallbacksOut) {
    /** A route without slowness or fallback traffic. */
    public RouteStatus(String name, String breaker) {
      this(name, breaker, false, 0, 0);
    }
  }

  /** One worker, from its last heartbeat. */
  public record WorkerStatus(String id, int slotsTotal, int slotsFree, long lastSeenMs) {}

  /**
   * The fleet's connections to one provider: gauges and totals summed over the workers' last heartbeats, rates over
   * each worker's last heartbeat interval (summed).
   *
   * @param provider                   the provider's configured name
   * @param workers                    workers that reported connections to it
   * @param open                       connections open
   * @param http2                      of those, HTTP/2 connections
   * @param streams                    exchanges in flight on them
   * @param streamsPerConnection       streams / open (at most 1 over HTTP/1.1)
   * @param waiting                    requests waiting for a connection (connect gate or pool)
   * @param opened                     connections opened since the workers started
   * @param connectsPerSecond          connections opened per second, lately
   * @param connectMsMean              mean connect time (TCP, TLS handshake, ALPN) of those connects; null when
   *                                   none
   * @param connectFailures            connects that failed for the provider's reasons ({@code connect_failed})
   * @param connectFailuresPerSecond   of those, per second lately
   * @param connectOverloaded          connects lost to the workers' own load ({@code connect_overloaded})
   * @param connectOverloadedPerSecond of those, per second lately
   */
  public record ProviderConnectionStatus(String provider, int workers, int open, int http2, int streams,
      double streamsPerConnection, int waiting, long opened, double connectsPerSecond, Double connectMsMean,
      long connectFailures, double connectFailuresPerSecond, long connectOverloaded,
      double connectOverloadedPerSecond) {}

  /** Running totals. */
  public record Totals(long assignments, long tokens, double tokensPerSecond, double costUsd) {}

  public static StatusSnapshot starting(String instance) {
    return new StatusSnapshot(Instant.now(), new DispatcherInfo(instance, false), Map.of(), List.of(), List.of(),
        List.of(), List.of(), new Totals(0, 0, 0, 0), Batches.NONE);
  }
}
