package io.promptfleet.worker;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.KeySettings;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.kafka.KafkaClients;
import io.promptfleet.worker.poll.Lane;
import io.promptfleet.worker.stream.CompletionCall;
import io.promptfleet.worker.stream.Outcome;
import io.promptfleet.worker.stream.ProviderEndpoint;
import io.promptfleet.worker.stream.ReplyPublisher;
import io.promptfleet.worker.stream.StreamMeters;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker: {@code worker.lanes} share consumers acquire assignments (at most {@code worker.slots} in all) and
 * stream each one from its provider on a Vert.x event loop.
 *
 * <p>Lifecycle methods are thread-safe. Streams run on event loops; lanes on their own named threads
 * ({@code pf-<worker>-lane-N}).
 */
public final class Worker implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
  private static final Duration LOCK_RENEW_AFTER = Duration.ofSeconds(10);

  private final FleetConfig config;
  private final Vertx vertx;
  private final String workerId;
  private final Clock clock;
  private final HttpClient http;
  private final KafkaProducer<String, byte[]> producer;
  private final ReplyPublisher publisher;
  private final Map<String, ProviderEndpoint> endpoints = new HashMap<>();
  private final List<Lane> lanes = new ArrayList<>();
  private final Set<String> warmTopics = ConcurrentHashMap.newKeySet();
  private final AtomicInteger active = new AtomicInteger();
  private final StreamMeters meters;
  private final Counter renewals;
  private long heartbeatTimer = -1;
  private volatile boolean draining;

  public Worker(FleetConfig config, Vertx vertx, MeterRegistry registry, String workerId, Clock clock) {
    this.config = config;
    this.vertx = vertx;
    this.workerId = workerId;
    this.clock = clock;
    var w = config.worker();
    this.http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true)
        .setMaxInitialLineLength(8192), new PoolOptions().setHttp1MaxSize(w.slots()).setMaxWaitQueueSize(-1));
    var props = KafkaClients.producer(config.kafka(), "pf-" + workerId);
    props.put("max.block.ms", 10_000);
    this.producer = new KafkaProducer<>(props);
    this.publisher = new ReplyPublisher(producer, config.topics().fleetEvents(), config.topics().jobsRetry());
    for (var e : config.keys().entrySet()) {
      KeySettings k = e.getValue();
      var secret = k.resolveSecret();
      if (secret.isEmpty()) {
        LOG.warn("key {} has no secret on this worker ({} is not set): its assignments will fail", e.getKey(),
            k.secretSource());
        continue;
      }
      endpoints.put(e.getKey(), new ProviderEndpoint(config.providers().get(k.provider()),
          ProviderEndpoint.bearer(secret.get())));
    }
    this.meters = new StreamMeters(registry);
    this.renewals = Counter.builder("promptfleet.worker.lock.renewals")
        .description("share-group lock renewals of long streams").register(registry);
    Gauge.builder("promptfleet.worker.streams.active", active, AtomicInteger::get)
        .description("streams in flight").register(registry);
    Gauge.builder("promptfleet.worker.slots.free", this, Worker::freeSlots)
        .description("assignments this worker could take now").register(registry);
    int lanesN = w.lanes();
    int batch = Math.max(1, w.slots() / lanesN);
    for (int i = 0; i < lanesN; i++) {
      var sc = KafkaClients.shareConsumer(config.kafka(), "pf-" + workerId + "-lane-" + i, w.shareGroup(), batch);
      lanes.add(new Lane("pf-" + workerId + "-lane-" + i, sc, config.topics().assignments(), this::onAssignment,
          LOCK_RENEW_AFTER, clock, renewals::increment));
    }
  }

  public void start() {
    lanes.forEach(Lane::start);
    heartbeatTimer = vertx.setPeriodic(5_000, id -> publisher.event(new FleetEvent(
        FleetEvent.Type.WORKER_HEARTBEAT, clock.instant(), workerId, null, null, null, null, null, null, null, null,
        null, null, null, config.worker().slots(), freeSlots())));
    LOG.info("worker {} started: {} lanes, {} slots", workerId, lanes.size(), config.worker().slots());
  }

  public String id() {
    return workerId;
  }

  public int freeSlots() {
    int held = 0;
    for (Lane l : lanes) {
      held += l.held();
    }
    return draining ? 0 : Math.max(0, config.worker().slots() - held);
  }

  /** Null when ready, else the reason. */
  public String notReadyReason() {
    if (draining) {
      return "draining";
    }
    for (Lane l : lanes) {
      if (!l.connected()) {
        return "not connected to Kafka yet";
      }
    }
    return null;
  }

  /** Runs on a lane thread: may block briefly (topic metadata), then hands the stream to an event loop. */
  private void onAssignment(ConsumerRecord<String, byte[]> record, Lane lane) {
    Assignment a;
    try {
      a = Json.read(record.value(), Assignment.class);
    } catch (RuntimeException e) {
      LOG.error("unreadable assignment at {}-{}@{}, rejecting it: {}", record.topic(), record.partition(),
          record.offset(), e.toString());
      lane.acknowledge(record, AcknowledgeType.REJECT);
      return;
    }
    if (warmTopics.add(a.replyTo())) {
      try {
        publisher.warm(a.replyTo());
      } catch (RuntimeException e) {
        warmTopics.remove(a.replyTo());
        LOG.warn("reply topic {} is not available ({}); handing job {} back", a.replyTo(), e.toString(),
            a.job().jobId());
        lane.acknowledge(record, AcknowledgeType.RELEASE);
        return;
      }
    }
    active.incrementAndGet();
    ProviderEndpoint endpoint = endpoints.get(a.keyId());
    Context ctx = vertx.getOrCreateContext();
    CompletionCall call = new CompletionCall(vertx, http, endpoint, a, publisher, clock, workerId,
        config.worker().maxLineBytes(), meters, outcome -> {
          active.decrementAndGet();
          if (outcome == Outcome.DONE) {
            lane.acknowledge(record, AcknowledgeType.ACCEPT);
          } else {
            lane.acknowledge(record, AcknowledgeType.RELEASE);
          }
        });
    ctx.runOnContext(v -> {
      if (endpoint == null) {
        KeySettings k = config.keys().get(a.keyId());
        call.failBeforeStart(ErrorCodes.NO_KEY, "key " + a.keyId() + " has no secret on worker " + workerId
            + (k == null ? " (unknown key)" : " (" + k.secretSource() + " is not set)"));
      } else {
        call.start();
      }
    });
  }

  /** Stops taking work, lets streams finish within {@code grace}, hands the rest back, closes. */
  public void drain(Duration grace) {
    draining = true;
    lanes.forEach(Lane::stopPolling);
    lanes.forEach(l -> l.close(grace));
  }

  @Override
  public void close() {
    drain(Duration.ofSeconds(30));
    vertx.cancelTimer(heartbeatTimer);
    producer.close(Duration.ofSeconds(10));
    http.close();
    LOG.info("worker {} stopped", workerId);
  }
}
