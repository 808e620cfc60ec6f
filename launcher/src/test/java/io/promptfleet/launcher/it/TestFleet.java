package io.promptfleet.launcher.it;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.ConfigLoader;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.job.Chunk;
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
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A whole fleet for one test, on the shared broker: its own topic names (a unique prefix), its own groups, a
 * simulated provider on a free port, one dispatcher and N workers. Not thread-safe; one per test.
 */
public final class TestFleet implements AutoCloseable {
  public final String prefix;
  public final FleetConfig config;
  public final Vertx vertx;
  public final SimulatedProvider provider;
  public final DispatcherService dispatcher;
  public final List<WorkerService> workers = new ArrayList<>();
  private final KafkaProducer<String, byte[]> producer;

  private TestFleet(String prefix, FleetConfig config, Vertx vertx, SimulatedProvider provider,
      DispatcherService dispatcher) {
    this.prefix = prefix;
    this.config = config;
    this.vertx = vertx;
    this.provider = provider;
    this.dispatcher = dispatcher;
    // One batch in flight per connection, as the dispatcher tests' Fleet: the topics were created moments ago, and a
    // first batch refused with NOT_LEADER_OR_FOLLOWER while a later one went ahead left this idempotent producer
    // retrying OUT_OF_ORDER_SEQUENCE_NUMBER until the test gave up (WalkingSkeletonIT: 15 of 200 jobs never arrived).
    this.producer = new KafkaProducer<>(Map.of("bootstrap.servers", config.kafka().bootstrapServers(),
        "acks", "all", "linger.ms", 5, "max.in.flight.requests.per.connection", 1,
        "key.serializer", StringSerializer.class, "value.serializer", ByteArraySerializer.class));
  }

  /** Starts a fleet with {@code workers} workers, the simulator options given, and extra YAML overrides. */
  public static TestFleet start(int workers, SimulatorOptions sim, Map<String, String> overrides) throws Exception {
    return start(workers, sim, "", "", overrides);
  }

  /**
   * As {@link #start(int, SimulatorOptions, Map)}, with more settings of the provider {@code sim} (YAML flow-map
   * entries, e.g. {@code "first_token_timeout_ms: 1000"}) and more models beside {@code sim} (YAML block lines
   * indented by two spaces under {@code models:}, e.g. {@code "  fast:\n    routes:\n      - {provider: sim,
   * model: m}\n"}).
   */
  public static TestFleet start(int workers, SimulatorOptions sim, String providerYaml, String modelsYaml,
      Map<String, String> overrides) throws Exception {
    String bootstrap = SharedKafka.bootstrapServers();
    String prefix = KafkaTestSupport.uniqueName("t");
    System.setProperty("PF_TEST_KEY", "sk-test-canary-" + prefix);
    Vertx vertx = Vertx.vertx();
    SimulatedProvider provider = SimulatedProvider.start(vertx, sim.withPort(0)).toCompletionStage()
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    String yaml = """
        kafka: {bootstrap_servers: "%1$s"}
        topics: {prefix: %2$s, partitions: 3}
        providers:
          sim: {base_url: "%3$s"%4$s}
        keys:
          k1: {provider: sim, secret_env: PF_TEST_KEY, max_concurrency: 32}
        models:
          sim:
            routes:
              - {provider: sim, model: sim, max_tokens_cap: 512, price_input_per_mtok: 1.0, price_output_per_mtok: 2.0}
        %5$s
        dispatcher: {group_id: %2$s-dispatcher, http_port: 0}
        worker: {share_group: %2$s-workers, slots: 16, lanes: 4, http_port: 0}
        """.formatted(bootstrap, prefix, provider.baseUrl(), providerYaml.isBlank() ? "" : ", " + providerYaml,
        modelsYaml.stripTrailing());
    Properties props = new Properties();
    overrides.forEach((k, v) -> props.setProperty("promptfleet." + k, v.replace("${prefix}", prefix)));
    FleetConfig config = ConfigLoader.parse(yaml, Map.of(), props);
    TopicAdmin.ensureFleetTopics(config);
    DispatcherService dispatcher = DispatcherService.start(config, vertx, prefix + "-dispatcher");
    TestFleet fleet = new TestFleet(prefix, config, vertx, provider, dispatcher);
    for (int i = 0; i < workers; i++) {
      fleet.workers.add(WorkerService.start(config, vertx, prefix + "-w" + i, 0));
    }
    return fleet;
  }

  public static TestFleet start(int workers) throws Exception {
    return start(workers, SimulatorOptions.defaults().withFirstTokenDelayMs(5).withTokensPerSecond(0), Map.of());
  }

  public String replies() {
    return config.topics().defaultReplyTo();
  }

  public void produce(String topic, String key, byte[] value) {
    try {
      producer.send(new ProducerRecord<>(topic, key, value)).get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** A record with headers (a fleet event with its gist), waited for. */
  public void produce(String topic, String key, byte[] value, Iterable<Header> headers) {
    try {
      producer.send(new ProducerRecord<>(topic, null, key, value, headers)).get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  public void produceAsync(String topic, String key, byte[] value) {
    producer.send(new ProducerRecord<>(topic, key, value));
  }

  public void flush() {
    producer.flush();
  }

  /** A job as a producer in any language would write it. */
  public byte[] job(String jobId, String content, int maxTokens) {
    var o = Json.mapper().createObjectNode();
    o.put("job_id", jobId).put("model", "sim").put("max_tokens", maxTokens).put("reply_to", replies());
    o.putArray("messages").addObject().put("role", "user").put("content", content);
    o.putObject("metadata").put("test", prefix);
    return Json.bytes(o);
  }

  /**
   * Reads {@code topic} from the beginning until {@code done} holds for what was read, or the timeout passes.
   * Returns every record read, in order per partition.
   */
  public static List<ConsumerRecord<String, byte[]>> readUntil(String bootstrap, String topic, Duration timeout,
      Predicate<List<ConsumerRecord<String, byte[]>>> done) {
    Map<String, Object> props = new HashMap<>();
    props.put("bootstrap.servers", bootstrap);
    props.put("key.deserializer", StringDeserializer.class);
    props.put("value.deserializer", ByteArrayDeserializer.class);
    props.put("isolation.level", "read_committed");
    List<ConsumerRecord<String, byte[]>> all = new ArrayList<>();
    try (var c = new KafkaConsumer<String, byte[]>(props)) {
      List<TopicPartition> parts = new ArrayList<>();
      parts.addAll(TopicPartitions.await(c, topic, Duration.ofSeconds(10)));
      c.assign(parts);
      c.seekToBeginning(parts);
      long until = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < until) {
        for (var r : c.poll(Duration.ofMillis(200))) {
          all.add(r);
        }
        if (done.test(all)) {
          break;
        }
      }
    }
    return all;
  }

  /** The reply records of the default reply topic, grouped by job id, once {@code results} results are there. */
  public Map<String, List<Reply>> awaitResults(int results, Duration timeout) {
    var records = readUntil(config.kafka().bootstrapServers(), replies(), timeout,
        all -> all.stream().filter(r -> Json.read(r.value(), Reply.class) instanceof Result).count() >= results);
    Map<String, List<Reply>> byJob = new LinkedHashMap<>();
    for (var r : records) {
      Reply reply = Json.read(r.value(), Reply.class);
      byJob.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(reply);
    }
    return byJob;
  }

  public static List<Chunk> chunks(List<Reply> replies) {
    return replies.stream().filter(Chunk.class::isInstance).map(Chunk.class::cast).toList();
  }

  public static List<Result> results(List<Reply> replies) {
    return replies.stream().filter(Result.class::isInstance).map(Result.class::cast).toList();
  }

  @Override
  public void close() throws Exception {
    producer.close(Duration.ofSeconds(5));
    for (WorkerService w : workers) {
      w.drain(Duration.ofSeconds(5));
      w.close();
    }
    dispatcher.close();
    provider.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
