package io.promptfleet.dispatcher.it;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.ConfigLoader;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.kafka.TopicAdmin;
import io.promptfleet.common.kafka.TopicPartitions;
import io.promptfleet.dispatcher.DispatcherService;
import io.promptfleet.kafka.embedded.KafkaTestSupport;
import io.promptfleet.kafka.embedded.SharedKafka;
import io.promptfleet.simulator.SimulatedProvider;
import io.promptfleet.simulator.SimulatorOptions;
import io.promptfleet.worker.WorkerService;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A whole fleet for one dispatcher test on the shared broker: unique topic and group names, a simulated provider
 * on a free port, keys whose secrets are {@code Bearer sk-<prefix>-<key>} (so the simulator counts each key by
 * its Authorization header), dispatchers and workers. Not thread-safe; one per test.
 */
final class Fleet implements AutoCloseable {
  final String prefix;
  final String yaml;
  final Map<String, String> secrets;
  final FleetConfig config;
  final Vertx vertx;
  final SimulatedProvider sim;
  final List<DispatcherService> dispatchers = new ArrayList<>();
  final List<WorkerService> workers = new ArrayList<>();
  private final KafkaProducer<String, byte[]> producer;

  private Fleet(String prefix, String yaml, Map<String, String> secrets, FleetConfig config, Vertx vertx,
      SimulatedProvider sim) {
    this.prefix = prefix;
    this.yaml = yaml;
    this.secrets = secrets;
    this.config = config;
    this.vertx = vertx;
    this.sim = sim;
    // One batch in flight per connection: the topics were created moments ago, and a first batch refused with
    // NOT_LEADER_OR_FOLLOWER while a later one went ahead left this idempotent producer retrying
    // OUT_OF_ORDER_SEQUENCE_NUMBER for minutes (AnthropicIT's jobs never arrived, seen once with two test forks).
    this.producer = new KafkaProducer<>(Map.of("bootstrap.servers", config.kafka().bootstrapServers(),
        "acks", "all", "linger.ms", 10, "batch.size", 262_144, "max.in.flight.requests.per.connection", 1,
        "key.serializer", StringSerializer.class, "value.serializer", ByteArraySerializer.class));
  }

  /**
   * A fleet without dispatchers or workers yet.
   *
   * @param sim   simulator options
   * @param keys  YAML of the keys section's entries, e.g. {@code k1: {max_concurrency: 2}}; provider and
   *              secret_env are added
   * @param rest  more YAML: models (required), dispatcher and worker settings; the fleet's own groups and ports
   *              are set by the harness
   */
  static Fleet create(SimulatorOptions sim, Map<String, String> keys, String rest) throws Exception {
    return create(sim, "", keys, rest);
  }

  /**
   * A fleet whose provider {@code sim} has more settings than its base URL.
   *
   * @param providerFields YAML flow-mapping entries added to the provider, e.g. {@code protocol: anthropic}; empty
   *                       for none. {@code ${origin}} stands for the simulator's scheme, host and port and {@code
   *                       ${ca_file}} for its certificate's PEM file (with {@link SimulatorOptions#withTls()}); when
   *                       the fields set {@code base_url} it replaces the simulator's OpenAI base URL. {@code
   *                       rest} may hold a {@code providers} section of more providers (the same placeholders
   *                       apply), and a key naming {@code provider} uses that one instead of {@code sim}
   */
  static Fleet create(SimulatorOptions sim, String providerFields, Map<String, String> keys, String rest)
      throws Exception {
    return create(SharedKafka.bootstrapServers(), sim, providerFields, keys, rest);
  }

  /**
   * A fleet on the cluster at {@code bootstrap} (e.g. a {@code KafkaCluster}) instead of the shared broker; the
   * rest as {@link #create(SimulatorOptions, String, Map, String)}. A {@code topics} section in {@code rest} adds to
   * the harness's (prefix, partitions) rather than replacing it.
   */
  static Fleet create(String bootstrap, SimulatorOptions sim, String providerFields, Map<String, String> keys,
      String rest) throws Exception {
    String prefix = KafkaTestSupport.uniqueName("d");
    Vertx vertx = Vertx.vertx();
    SimulatedProvider provider = SimulatedProvider.start(vertx, sim.withPort(0)).toCompletionStage()
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    providerFields = placeholders(providerFields, provider);
    rest = placeholders(rest, provider);
    String baseUrl = providerFields.contains("base_url:") ? ""
        : "base_url: \"" + provider.baseUrl() + "\"" + (providerFields.isBlank() ? "" : ", ");
    StringBuilder keyYaml = new StringBuilder();
    Map<String, String> secrets = new LinkedHashMap<>();
    keys.forEach((name, settings) -> {
      String var = "PF_" + prefix.replace('-', '_').toUpperCase() + "_" + name.toUpperCase();
      System.setProperty(var, "sk-" + prefix + "-" + name);
      secrets.put(var, "sk-" + prefix + "-" + name);
      String inner = settings.strip();
      inner = inner.substring(1, inner.length() - 1).strip();
      keyYaml.append("  ").append(name).append(": {").append(inner.contains("provider:") ? "" : "provider: sim, ")
          .append("secret_env: ").append(var).append(inner.isEmpty() ? "" : ", " + inner).append("}\n");
    });
    String yaml = """
        kafka: {bootstrap_servers: "%1$s"}
        topics: {prefix: %2$s, partitions: 3}
        providers:
          sim: {%3$s%5$s}
        keys:
        %4$s
        """.formatted(bootstrap, prefix, baseUrl, keyYaml, providerFields);
    yaml = withIdentity(yaml, rest, prefix);
    FleetConfig config = ConfigLoader.parse(yaml, Map.of(), new Properties());
    TopicAdmin.ensureFleetTopics(config);
    KafkaTestSupport.alterGroupConfigs(bootstrap, config.worker().shareGroup(),
        Map.of("share.record.lock.duration.ms", "5000", "share.isolation.level", "read_committed"));
    return new Fleet(prefix, yaml, secrets, config, vertx, provider);
  }

  /**
   * Gives the fleet its own consumer and share groups and any free HTTP ports, whatever the test's YAML says
   * otherwise, and the harness's worker sizing where the test gives none. Done on the parsed tree, so a test's
   * dispatcher or worker section only names what the test is about.
   */
  /**
   * A fleet with two models on separate keys of the simulator (first token in 5 ms, 3 tokens): {@code slow} on
   * {@code slowkey} with {@code slowStreams} concurrent streams, {@code fast} on {@code fastkey} with
   * {@code fastStreams}; slow calls never trip a breaker (slow jobs are slow on purpose).
   */
  static Fleet twoModels(int slowStreams, int fastStreams) throws Exception {
    Map<String, String> keys = new LinkedHashMap<>();
    keys.put("slowkey", "{max_concurrency: " + slowStreams + "}");
    keys.put("fastkey", "{max_concurrency: " + fastStreams + "}");
    return create(SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0)
        .withDefaultCompletionTokens(3), keys, """
        models:
          slow:
            routes:
              - {provider: sim, model: slow, keys: [slowkey]}
          fast:
            routes:
              - {provider: sim, model: fast, keys: [fastkey]}
        dispatcher:
          breaker: {slow_call_ms: 60000}
        """);
  }

  /** What {@code d} serves at {@code /metrics} (Prometheus text). */
  static String scrape(DispatcherService d) throws Exception {
    var r = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
        java.net.URI.create("http://127.0.0.1:" + d.httpPort() + "/metrics")).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IllegalStateException("/metrics answered " + r.statusCode() + ": " + r.body());
    }
    return r.body();
  }

  /** The sum of every series of the Prometheus counter or gauge {@code name} (e.g. {@code promptfleet_x_total}). */
  static double counter(DispatcherService d, String name) throws Exception {
    String body = scrape(d);
    double sum = 0;
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^" + name + "(\\{[^}]*})? ([0-9.eE+-]+)$")
        .matcher(body);
    while (m.find()) {
      sum += Double.parseDouble(m.group(2));
    }
    return sum;
  }

  private static String placeholders(String yaml, SimulatedProvider sim) {
    return yaml.replace("${origin}", sim.origin()).replace("${ca_file}", String.valueOf(sim.caFile()));
  }

  private static String withIdentity(String yaml, String rest, String prefix) throws java.io.IOException {
    var mapper = new com.fasterxml.jackson.databind.ObjectMapper(
        new com.fasterxml.jackson.dataformat.yaml.YAMLFactory());
    var root = (com.fasterxml.jackson.databind.node.ObjectNode) mapper.readTree(yaml);
    var more = mapper.readTree(rest.isBlank() ? "{}" : rest);
    if (more instanceof com.fasterxml.jackson.databind.node.ObjectNode m) {
      for (String section : List.of("providers", "topics")) {
        var entries = m.remove(section);
        if (entries != null) {
          root.withObjectProperty(section).setAll((com.fasterxml.jackson.databind.node.ObjectNode) entries);
        }
      }
      root.setAll(m);
    }
    var dispatcher = root.withObjectProperty("dispatcher");
    dispatcher.put("group_id", prefix + "-dispatcher").put("http_port", 0);
    var worker = root.withObjectProperty("worker");
    worker.put("share_group", prefix + "-workers").put("http_port", 0);
    if (!worker.has("slots")) {
      worker.put("slots", 64).put("lanes", 4);
    }
    return mapper.writeValueAsString(root);
  }

  /** The Authorization header the simulator sees for a key. */
  String auth(String key) {
    return "Bearer sk-" + prefix + "-" + key;
  }

  DispatcherService startDispatcher(String name) throws Exception {
    DispatcherService d = DispatcherService.start(config, vertx, prefix + "-" + name);
    dispatchers.add(d);
    return d;
  }

  /** Waits until the dispatcher holds its partitions and has rebuilt its leases. */
  static void awaitActive(DispatcherService d, Duration timeout) throws InterruptedException {
    long until = System.nanoTime() + timeout.toNanos();
    while (!d.dispatcher().isActive()) {
      if (System.nanoTime() > until) {
        throw new AssertionError("dispatcher not active within " + timeout);
      }
      Thread.sleep(20);
    }
  }

  Fleet startWorkers(int n) throws Exception {
    for (int i = 0; i < n; i++) {
      workers.add(WorkerService.start(config, vertx, prefix + "-w" + workers.size(), 0));
    }
    return this;
  }

  void produce(String topic, String key, byte[] value) {
    producer.send(new ProducerRecord<>(topic, key, value));
  }

  void flush() {
    producer.flush();
  }

  /** A job as a producer in any language would write it. */
  byte[] job(String jobId, String model, String content, int maxTokens) {
    var o = Json.mapper().createObjectNode();
    o.put("job_id", jobId).put("model", model).put("max_tokens", maxTokens)
        .put("reply_to", config.topics().defaultReplyTo());
    o.putArray("messages").addObject().put("role", "user").put("content", content);
    return Json.bytes(o);
  }

  /** Reads {@code topic} from the beginning (read_committed) until {@code done} holds or the timeout passes. */
  List<ConsumerRecord<String, byte[]>> readUntil(String topic, Duration timeout,
      Predicate<List<ConsumerRecord<String, byte[]>>> done) {
    Map<String, Object> props = new HashMap<>();
    props.put("bootstrap.servers", config.kafka().bootstrapServers());
    props.put("key.deserializer", StringDeserializer.class);
    props.put("value.deserializer", ByteArrayDeserializer.class);
    props.put("isolation.level", "read_committed");
    props.put("max.poll.records", 5_000);
    List<ConsumerRecord<String, byte[]>> all = new ArrayList<>();
    try (var c = new KafkaConsumer<String, byte[]>(props)) {
      List<TopicPartition> parts = TopicPartitions.await(c, topic, Duration.ofSeconds(10));
      c.assign(parts);
      c.seekToBeginning(parts);
      long until = System.nanoTime() + timeout.toNanos();
      do {
        for (var r : c.poll(Duration.ofMillis(200))) {
          all.add(r);
        }
      } while (!done.test(all) && System.nanoTime() < until);
    }
    return all;
  }

  /** Every record the fleet's own topics hold now (jobs, assignments, retries, fleet events, replies, cancels). */
  List<ConsumerRecord<String, byte[]>> everyRecord() {
    var t = config.topics();
    List<String> topics = List.of(t.jobsHigh(), t.jobsNormal(), t.jobsLow(), t.jobsRetry(), t.assignments(),
        t.fleetEvents(), t.defaultReplyTo(), t.cancels());
    Map<String, Object> props = new HashMap<>();
    props.put("bootstrap.servers", config.kafka().bootstrapServers());
    props.put("key.deserializer", StringDeserializer.class);
    props.put("value.deserializer", ByteArrayDeserializer.class);
    try (var c = new KafkaConsumer<String, byte[]>(props)) {
      return TopicPartitions.readToEnd(c, topics, Duration.ofSeconds(30));
    }
  }

  /** Results on the default reply topic by job id, once at least {@code n} results are there (or the timeout). */
  Map<String, List<Result>> awaitResults(int n, Duration timeout) {
    var records = readUntil(config.topics().defaultReplyTo(), timeout,
        all -> all.stream().filter(r -> Json.read(r.value(), Reply.class) instanceof Result).count() >= n);
    Map<String, List<Result>> byJob = new LinkedHashMap<>();
    for (var r : records) {
      if (Json.read(r.value(), Reply.class) instanceof Result res) {
        byJob.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(res);
      }
    }
    return byJob;
  }

  /** Every committed assignment written so far (reads for {@code quiet} after the last one seen). */
  List<Assignment> assignments(int atLeast, Duration timeout) {
    return readUntil(config.topics().assignments(), timeout, all -> all.size() >= atLeast).stream()
        .map(r -> Json.read(r.value(), Assignment.class)).toList();
  }

  @Override
  public void close() throws Exception {
    producer.close(Duration.ofSeconds(5));
    for (WorkerService w : workers) {
      w.drain(Duration.ofSeconds(2));
      w.close();
    }
    for (DispatcherService d : dispatchers) {
      d.close();
    }
    sim.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
