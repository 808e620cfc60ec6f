package io.promptfleet.worker.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.ConfigLoader;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ChatMessage;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.RetryRequest;
import io.promptfleet.common.job.Route;
import io.promptfleet.common.kafka.TopicAdmin;
import io.promptfleet.kafka.embedded.KafkaTestSupport;
import io.promptfleet.kafka.embedded.SharedKafka;
import io.promptfleet.simulator.SimulatedProvider;
import io.promptfleet.simulator.SimulatorOptions;
import io.promptfleet.worker.Worker;
import io.promptfleet.worker.WorkerOptions;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Workers on the shared broker without a dispatcher: its own topics (a unique prefix) and share group, a simulated
 * provider on a free port, a producer that writes assignments as the dispatcher would, and tails of the reply,
 * retry and fleet-event topics. Not thread-safe; one per test class or test.
 */
final class WorkerHarness implements AutoCloseable {
  final String prefix;
  final String secret;
  final String secretVar;
  final String yaml;
  final FleetConfig config;
  final Vertx vertx;
  final SimulatedProvider sim;
  final List<Worker> workers = new ArrayList<>();
  final TopicTail replies;
  final TopicTail retries;
  final TopicTail events;
  private final KafkaProducer<String, byte[]> producer;

  private WorkerHarness(String prefix, String secret, String secretVar, String yaml, FleetConfig config, Vertx vertx,
      SimulatedProvider sim) {
    this.prefix = prefix;
    this.secret = secret;
    this.secretVar = secretVar;
    this.yaml = yaml;
    this.config = config;
    this.vertx = vertx;
    this.sim = sim;
    String bootstrap = config.kafka().bootstrapServers();
    this.producer = new KafkaProducer<>(Map.of("bootstrap.servers", bootstrap, "acks", "all", "linger.ms", 0,
        "key.serializer", StringSerializer.class, "value.serializer", ByteArraySerializer.class));
    this.replies = new TopicTail(bootstrap, config.topics().defaultReplyTo());
    this.retries = new TopicTail(bootstrap, config.topics().jobsRetry());
    this.events = new TopicTail(bootstrap, config.topics().fleetEvents());
  }

  /**
   * @param providerYaml extra provider settings, e.g. {@code idle_timeout_ms: 1000}
   * @param workerYaml   extra worker settings, e.g. {@code slots: 4, lanes: 1}
   */
  static WorkerHarness start(SimulatorOptions simOptions, String providerYaml, String workerYaml,
      Map<String, String> groupConfigs) throws Exception {
    return start(simOptions, null, providerYaml, workerYaml, groupConfigs);
  }

  /** @param baseUrl the provider's base URL, or null for the simulator's */
  static WorkerHarness start(SimulatorOptions simOptions, String baseUrl, String providerYaml, String workerYaml,
      Map<String, String> groupConfigs) throws Exception {
    return start(simOptions, baseUrl, providerYaml, workerYaml, groupConfigs, Map.of());
  }

  /**
   * @param moreProviders more providers by name, each with its settings (e.g. {@code base_url: "http://…", connections:
   *                      {http_version: h2c}}) and a key {@code k_NAME} (see {@link #assignment(String, String, int,
   *                      String)})
   */
  static WorkerHarness start(SimulatorOptions simOptions, String baseUrl, String providerYaml, String workerYaml,
      Map<String, String> groupConfigs, Map<String, String> moreProviders) throws Exception {
    String bootstrap = SharedKafka.bootstrapServers();
    String prefix = KafkaTestSupport.uniqueName("w");
    String secretVar = "PF_KEY_" + prefix.replace('-', '_').toUpperCase();
    String secret = "sk-canary-" + UUID.randomUUID().toString().replace("-", "");
    System.setProperty(secretVar, secret);
    Vertx vertx = Vertx.vertx();
    SimulatedProvider sim = SimulatedProvider.start(vertx, simOptions.withPort(0)).toCompletionStage()
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    StringBuilder providers = new StringBuilder();
    StringBuilder keys = new StringBuilder();
    moreProviders.forEach((name, settings) -> {
      providers.append("  ").append(name).append(": {").append(settings).append("}\n");
      keys.append("  k_").append(name).append(": {provider: ").append(name).append(", secret_env: ").append(secretVar)
          .append(", max_concurrency: 10000}\n");
    });
    String yaml = """
        kafka: {bootstrap_servers: "%1$s"}
        topics: {prefix: %2$s, partitions: 3}
        providers:
          sim: {base_url: "%3$s"%5$s}
        %7$skeys:
          k1: {provider: sim, secret_env: %4$s, max_concurrency: 64}
        %8$smodels:
          sim:
            routes:
              - {provider: sim, model: sim, max_tokens_cap: 512}
        dispatcher: {group_id: %2$s-dispatcher, http_port: 0}
        worker: {share_group: %2$s-workers, http_port: 0%6$s}
        """.formatted(bootstrap, prefix, baseUrl == null ? sim.baseUrl() : baseUrl, secretVar, more(providerYaml),
        more(workerYaml), providers, keys);
    FleetConfig config = ConfigLoader.parse(yaml, Map.of(), new Properties());
    TopicAdmin.ensureFleetTopics(config);
    if (!groupConfigs.isEmpty()) {
      KafkaTestSupport.alterGroupConfigs(bootstrap, config.worker().shareGroup(), groupConfigs);
    }
    return new WorkerHarness(prefix, secret, secretVar, yaml, config, vertx, sim);
  }

  private static String more(String yaml) {
    return yaml.isBlank() ? "" : ", " + yaml;
  }

  Worker addWorker(WorkerOptions options) throws InterruptedException {
    return addWorker(options, new SimpleMeterRegistry());
  }

  Worker addWorker(WorkerOptions options, MeterRegistry registry) throws InterruptedException {
    Worker w = new Worker(config, options, vertx, registry, prefix + "-w" + workers.size(), Clock.systemUTC());
    w.start();
    w.awaitWatchers(Duration.ofSeconds(30));
    workers.add(w);
    return w;
  }

  /** An assignment as the dispatcher writes it. */
  Assignment assignment(String jobId, String prompt, int attempt) {
    Job job = new Job(jobId, "sim", List.of(ChatMessage.of("user", prompt)), 16, config.topics().defaultReplyTo(),
        null, null, null, Json.mapper().createObjectNode().put("test", prefix), Map.of());
    return new Assignment("lease-" + jobId + "-" + attempt, job, attempt, Priority.NORMAL,
        new Route("sim/sim", "sim", "sim", null, null), "k1", Instant.now(), Instant.now(), null,
        config.topics().defaultReplyTo());
  }

  /** An assignment as the dispatcher writes it, to provider {@code provider} of {@code moreProviders}, key k_NAME. */
  Assignment assignment(String jobId, String prompt, int attempt, String provider) {
    Assignment a = assignment(jobId, prompt, attempt);
    return new Assignment(a.leaseId(), a.job(), attempt, a.priority(), new Route(provider + "/sim", provider, "sim",
        null, null), "k_" + provider, a.enqueuedAt(), a.dispatchedAt(), a.deadline(), a.replyTo());
  }

  /** Writes many assignments at once: sent together, then waited for. */
  void sendAll(List<Assignment> assignments) {
    List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
    for (Assignment a : assignments) {
      sent.add(producer.send(new ProducerRecord<>(config.topics().assignments(), a.job().jobId(), Json.bytes(a))));
    }
    try {
      for (java.util.concurrent.Future<?> f : sent) {
        f.get(30, TimeUnit.SECONDS);
      }
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Writes assignments as one record batch to one partition, so that one lane's poll takes them together and their
   * streams start at the same moment.
   */
  void sendTogether(int partition, List<Assignment> assignments) {
    try (KafkaProducer<String, byte[]> batching = new KafkaProducer<>(Map.of("bootstrap.servers",
        config.kafka().bootstrapServers(), "acks", "all", "linger.ms", 60_000, "key.serializer", StringSerializer.class,
        "value.serializer", ByteArraySerializer.class))) {
      for (Assignment a : assignments) {
        batching.send(new ProducerRecord<>(config.topics().assignments(), partition, a.job().jobId(), Json.bytes(a)));
      }
      batching.flush();
    }
  }

  /** Waits until a worker has remembered the cancel of {@code jobId}. */
  void awaitCancelSeen(Worker w, String jobId) throws InterruptedException {
    long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!w.isCancelled(jobId) && System.nanoTime() < until) {
      Thread.sleep(20);
    }
    if (!w.isCancelled(jobId)) {
      throw new AssertionError("worker " + w.id() + " never saw the cancel of " + jobId);
    }
  }

  /** Waits until the first chunk of {@code jobId} is on the reply topic. */
  void awaitFirstChunk(String jobId) throws InterruptedException {
    replies.await(all -> repliesOf(all, jobId).stream().anyMatch(Chunk.class::isInstance), Duration.ofSeconds(30));
    if (repliesOf(replies.snapshot(), jobId).stream().noneMatch(Chunk.class::isInstance)) {
      throw new AssertionError("no chunk of " + jobId + " within 30 s");
    }
  }

  String jobId() {
    return KafkaTestSupport.uniqueName("job");
  }

  void send(Assignment a) {
    produce(config.topics().assignments(), a.job().jobId(), Json.bytes(a));
  }

  /** As {@link #send}, to one partition of the assignments topic. */
  void sendTo(int partition, Assignment a) {
    produce(new ProducerRecord<>(config.topics().assignments(), partition, a.job().jobId(), Json.bytes(a)));
  }

  void cancel(String jobId) {
    produce(config.topics().cancels(), jobId, jobId.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  void produce(String topic, String key, byte[] value) {
    produce(new ProducerRecord<>(topic, key, value));
  }

  void produce(ProducerRecord<String, byte[]> record) {
    try {
      producer.send(record).get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Re-dispatches a retry request as the dispatcher would: same job, the next attempt. */
  void redispatch(RetryRequest r) {
    Assignment a = r.assignment();
    send(new Assignment(a.leaseId() + "-r", a.job(), r.nextAttempt(), a.priority(), a.route(), a.keyId(),
        a.enqueuedAt(), Instant.now(), a.deadline(), a.replyTo()));
  }

  static List<Reply> repliesOf(List<ConsumerRecord<String, byte[]>> records, String jobId) {
    return records.stream().filter(r -> jobId.equals(r.key())).map(r -> Json.read(r.value(), Reply.class))
        .toList();
  }

  List<Result> results(String jobId) {
    return repliesOf(replies.snapshot(), jobId).stream().filter(Result.class::isInstance)
        .map(Result.class::cast).toList();
  }

  List<Chunk> chunks(String jobId, int attempt) {
    return repliesOf(replies.snapshot(), jobId).stream().filter(Chunk.class::isInstance).map(Chunk.class::cast)
        .filter(c -> c.attempt() == attempt).toList();
  }

  /**
   * What a reader may rely on of an attempt's chunks: numbered from 0 without a gap, and their text joined is the
   * result's. Not how many there are: a chunk carries one delta's text or, coalesced (worker.chunks_in_flight), those
   * of several.
   */
  void assertStreamedAnswer(String jobId, int attempt, Result result) {
    List<Chunk> chunks = chunks(jobId, attempt);
    assertThat(chunks).as("chunks of %s attempt %d", jobId, attempt).isNotEmpty().extracting(Chunk::seq)
        .containsExactlyElementsOf(LongStream.range(0, chunks.size()).boxed().toList());
    assertThat(String.join("", chunks.stream().map(Chunk::delta).toList()))
        .as("the text of the chunks of %s attempt %d", jobId, attempt).isEqualTo(result.content());
  }

  /** How many tokens an attempt's chunks carry: the simulator streams one word per token. */
  int tokensStreamed(String jobId, int attempt) {
    String text = String.join("", chunks(jobId, attempt).stream().map(Chunk::delta).toList()).strip();
    return text.isEmpty() ? 0 : text.split(" +").length;
  }

  Result awaitResult(String jobId, Duration timeout) throws InterruptedException {
    replies.await(all -> !repliesOf(all, jobId).stream().filter(Result.class::isInstance).toList().isEmpty(),
        timeout);
    List<Result> rs = results(jobId);
    if (rs.isEmpty()) {
      throw new AssertionError("no result for " + jobId + " within " + timeout + "; retries: " + retries(jobId)
          + "; replies: " + repliesOf(replies.snapshot(), jobId) + "; released: " + released(jobId));
    }
    return rs.get(0);
  }

  List<RetryRequest> retries(String jobId) {
    return retries.snapshot().stream().filter(r -> jobId.equals(r.key()))
        .map(r -> Json.read(r.value(), RetryRequest.class)).toList();
  }

  RetryRequest awaitRetry(String jobId, Duration timeout) throws InterruptedException {
    retries.await(all -> all.stream().anyMatch(r -> jobId.equals(r.key())), timeout);
    List<RetryRequest> rs = retries(jobId);
    if (rs.isEmpty()) {
      throw new AssertionError("no retry request for " + jobId + " within " + timeout + "; results: "
          + results(jobId));
    }
    return rs.get(0);
  }

  List<FleetEvent> released(String jobId) {
    return events.snapshot().stream().map(r -> Json.read(r.value(), FleetEvent.class))
        .filter(e -> e.type() == FleetEvent.Type.LEASE_RELEASED && jobId.equals(e.jobId())).toList();
  }

  List<FleetEvent> awaitReleased(String jobId, int n, Duration timeout) throws InterruptedException {
    events.await(all -> all.stream().map(r -> Json.read(r.value(), FleetEvent.class))
        .filter(e -> e.type() == FleetEvent.Type.LEASE_RELEASED && jobId.equals(e.jobId())).count() >= n, timeout);
    return released(jobId);
  }

  @Override
  public void close() throws Exception {
    for (Worker w : workers) {
      w.drain(Duration.ofSeconds(2));
      w.close();
    }
    replies.close();
    retries.close();
    events.close();
    producer.close(Duration.ofSeconds(5));
    sim.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
