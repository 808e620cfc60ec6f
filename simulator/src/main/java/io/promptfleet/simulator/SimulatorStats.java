package io.promptfleet.simulator;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Live counters of a {@link SimulatedProvider}, for tests and benchmarks.
 *
 * <p>"Key" below means the verbatim value of the {@code Authorization} header, e.g. {@code "Bearer k1"}; for an
 * Anthropic request ({@code /v1/messages}), {@code "Bearer "} followed by its {@code x-api-key}.
 * A request counts as concurrent for its key from the moment its body has arrived until its response has
 * ended or its connection has closed, whatever the outcome (errors and injected faults included); requests
 * rejected with 401 carry no key and are not counted per key.
 *
 * <p>Thread-safe: readable from any thread while the server is running. Values are individually
 * consistent, not a snapshot of all counters at one instant.
 */
public interface SimulatorStats {

  /** The protocol of an HTTP/2 connection (over TLS by ALPN, or h2c in the clear), as {@link #openConnections(String)}
   * and {@link #connectionsOpened(String)} name it. */
  String H2 = "h2";
  /** The protocol of an HTTP/1.1 (or 1.0) connection. */
  String HTTP_1_1 = "http/1.1";

  /** Chat-completion requests received (any outcome, including 400 and 401). */
  long totalRequests();

  /** Streams that ended normally: finish chunk sent and response ended (with or without [DONE]). */
  long completedStreams();

  /** Streams whose headers were sent and which have neither ended nor lost their connection. */
  int activeStreams();

  /**
   * Requests answered with an injected fault (directive or {@link FaultPlan}); answer shapes
   * ({@link FaultKind#shapesAnswer()}: tool calls, reasoning, reply, ...) alone do not count.
   */
  long faultedRequests();

  /** Requests of this key in flight now. */
  int concurrentRequests(String key);

  /** The most requests of this key ever in flight at once (since start or {@link #reset()}). */
  int maxConcurrentRequests(String key);

  /** {@link #maxConcurrentRequests(String)} of every key seen. */
  Map<String, Integer> maxConcurrentRequestsByKey();

  /** Start times of this key's most recent requests (at most 10,000), oldest first. */
  List<Instant> requestStarts(String key);

  /** The largest number of this key's requests that started within any interval of length {@code window}. */
  int maxRequestsInWindow(String key, Duration window);

  /** Client connections accepted (since start or {@link #reset()}), any protocol. */
  long connectionsOpened();

  /**
   * Client connections accepted (since start or {@link #reset()}) that speak {@code protocol}.
   *
   * @param protocol {@link #H2} or {@link #HTTP_1_1}
   */
  long connectionsOpened(String protocol);

  /** Client connections open now, any protocol: a live gauge, not reset. */
  int openConnections();

  /**
   * Client connections open now that speak {@code protocol}.
   *
   * @param protocol {@link #H2} or {@link #HTTP_1_1}
   */
  int openConnections(String protocol);

  /** The most client connections ever open at once (since start or {@link #reset()}), any protocol. */
  int maxOpenConnections();

  /** The most recent requests to any endpoint (at most 1,000), oldest first. */
  List<RecordedRequest> recentRequests();

  /**
   * Zeroes the counters, forgets start times, recorded requests and every key with nothing in flight, and
   * lowers the maximum of the other keys to their current concurrency, and {@link #maxOpenConnections()} to the
   * connections open now. Requests in flight keep being tracked ({@link #activeStreams()} and {@link
   * #openConnections()} are live gauges and are not reset).
   */
  void reset();
}
