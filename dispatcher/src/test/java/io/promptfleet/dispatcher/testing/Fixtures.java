package io.promptfleet.dispatcher.testing;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.ConfigLoader;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.LeaseOutcome;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.Usage;
import io.promptfleet.common.kafka.TopicAdmin;
import io.promptfleet.dispatcher.intake.Inbound;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Plain records and configuration for the dispatcher's collaborator tests: no Kafka, no clock but the one a test
 * passes. Every time is epoch ms from {@link #T0}.
 */
public final class Fixtures {
  /** The tests' epoch: 2026-01-01T00:00:00Z. */
  public static final long T0 = Instant.parse("2026-01-01T00:00:00Z").toEpochMilli();

  /**
   * Two keys of provider {@code p} and the model {@code m} with two routes, {@code p/first} then {@code p/second}
   * (each on both keys, default completion limit 100), a one-minute rate window.
   */
  public static final String TWO_KEYS = """
      keys:
        k1: {provider: p, secret_env: PF_TEST_K1, max_concurrency: 2, requests_per_minute: 100,
             tokens_per_minute: 100000}
        k2: {provider: p, secret_env: PF_TEST_K2, max_concurrency: 2, requests_per_minute: 100,
             tokens_per_minute: 100000}
      models:
        m:
          routes:
            - {provider: p, model: first, default_max_tokens: 100}
            - {provider: p, model: second, default_max_tokens: 100}
      """;

  private Fixtures() {}

  /**
   * A configuration of the given keys, models and settings (YAML), with provider {@code p} unless the YAML names
   * its own providers.
   */
  public static FleetConfig config(String yaml) {
    String providers = yaml.contains("providers:") ? "" : """
        providers:
          p: {base_url: "http://127.0.0.1:1/v1"}
        """;
    return ConfigLoader.parse(providers + yaml, Map.of(), new Properties());
  }

  /** A job as a producer writes it. */
  public static byte[] job(String jobId, String model, String extraFields) {
    return ("{\"job_id\":\"" + jobId + "\",\"model\":\"" + model
        + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]" + extraFields + "}")
        .getBytes(StandardCharsets.UTF_8);
  }

  /** A record read from {@code topic}, partition 0. */
  public static Inbound record(String topic, long offset, long timestamp, String key, byte[] value) {
    return new Inbound(topic, 0, offset, timestamp, key, value);
  }

  /** A fleet event on {@code topic} (the fleet events topic), written at {@code atMs}. */
  public static Inbound event(String topic, long offset, FleetEvent e, long atMs) {
    return record(topic, offset, atMs, e.keyId(), Json.bytes(e));
  }

  /** A lease_released event; {@code outcome} by its wire name; {@code totalTokens} null for no usage. */
  public static FleetEvent released(String leaseId, String keyId, String route, String outcome, String errorCode,
      Integer statusCode, Long totalTokens) {
    return FleetEvent.leaseReleased(leaseId, "j", keyId, route, LeaseOutcome.ofWireName(outcome)).status(statusCode)
        .error(errorCode).usage(totalTokens == null ? null : new Usage(0, totalTokens, totalTokens))
        .by("w1", Instant.ofEpochMilli(T0));
  }

  /** A lease_released event of an attempt answered 429, with the retry-after and x-ratelimit-* headers seen. */
  public static FleetEvent rateLimited(String leaseId, String keyId, Long retryAfterMs, Map<String, String> headers) {
    return FleetEvent.leaseReleased(leaseId, "j", keyId, "p/first", LeaseOutcome.RETRY).status(429)
        .error("upstream_rate_limited").rateLimit(retryAfterMs, headers).by("w1", Instant.ofEpochMilli(T0));
  }

  /** A worker's heartbeat. */
  public static FleetEvent heartbeat(String workerId, int slotsTotal, int slotsFree) {
    return FleetEvent.heartbeat(Instant.ofEpochMilli(T0), workerId, slotsTotal, slotsFree);
  }

  /** A record of the share group's dead-letter queue as the broker writes it: the assignment and its headers. */
  public static Inbound archived(String dlqTopic, long offset, Assignment a, int deliveries, long atMs) {
    RecordHeaders h = new RecordHeaders();
    h.add(TopicAdmin.DLQ_HEADER_TOPIC, "llm.assignments".getBytes(StandardCharsets.UTF_8));
    h.add(TopicAdmin.DLQ_HEADER_PARTITION, "0".getBytes(StandardCharsets.UTF_8));
    h.add(TopicAdmin.DLQ_HEADER_OFFSET, Long.toString(offset).getBytes(StandardCharsets.UTF_8));
    h.add(TopicAdmin.DLQ_HEADER_DELIVERY_COUNT, Integer.toString(deliveries).getBytes(StandardCharsets.UTF_8));
    h.add(TopicAdmin.DLQ_HEADER_MESSAGE, "delivery count limit reached".getBytes(StandardCharsets.UTF_8));
    return new Inbound(dlqTopic, 0, offset, atMs, a.job().jobId(), Json.bytes(a), h);
  }
}
