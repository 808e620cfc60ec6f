package io.promptfleet.worker.stream;

import io.promptfleet.common.upstream.EmbeddingsAnswer;
import io.promptfleet.worker.upstream.Failures;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.TextNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.ChatMessage;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.Job;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Route;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The end of an attempt in Kafka, against a MockProducer: the order of records and what the lane is told. */
class TerminalPublisherTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  private final Vertx vertx = Vertx.vertx();
  private final Context context = vertx.getOrCreateContext();
  private final MockProducer<String, byte[]> producer = new MockProducer<>(false, null, new StringSerializer(),
      new ByteArraySerializer());
  private final StreamEnv env = new StreamEnv(vertx,
      new ReplyPublisher(producer, "llm.fleet.events", "llm.jobs.retry"), Clock.systemUTC(), "w1", 8192,
      new StreamMeters(new SimpleMeterRegistry()), 0);
  private final Assignment assignment = assignment();
  private final OutcomeRecords records = new OutcomeRecords(assignment, new MessageAssembler(1 << 20),
      Clock.systemUTC(), s -> s);
  private final List<Callback> chunkAcks = new ArrayList<>();
  private final ChunkSink chunks = new ChunkSink("job-1", 1, 0, new ManualTimer(),
      (json, acked) -> chunkAcks.add(acked), e -> { });
  private final CompletableFuture<Outcome> done = new CompletableFuture<>();
  private final TerminalPublisher terminal = new TerminalPublisher(env, context, assignment, records, chunks,
      done::complete);

  @AfterEach
  void closeVertx() {
    vertx.close();
  }

  @Test
  void shouldSendTheResultOnlyOnceEveryChunkIsAckedAndTheEventOnlyOnceTheResultIsAcked() throws Exception {
    records.started(T0);
    chunks.text(ChunkSink.TextKind.CONTENT, "Hi", null);
    onContext(() -> terminal.publish(records.succeeded(T0.plusMillis(10))));

    assertThat(producer.history()).as("the chunk is not acked yet").isEmpty();
    chunkAcks.get(0).onCompletion(null, null);
    onContext(() -> { }); // the send, queued behind the ack
    assertThat(topics()).containsExactly("llm.replies");
    assertThat(done).isNotDone();

    producer.completeNext();

    assertThat(done.get(5, TimeUnit.SECONDS)).isEqualTo(Outcome.DONE);
    assertThat(topics()).containsExactly("llm.replies", "llm.fleet.events");
    assertThat(event().outcome()).isEqualTo(io.promptfleet.common.job.LeaseOutcome.SUCCEEDED);
  }

  @Test
  void shouldSendARetryRequestToTheRetryTopic() throws Exception {
    records.started(T0);
    onContext(() -> terminal.publish(records.failed(Failures.ofHttp(503, ""), T0)));
    onContext(() -> { }); // the send, queued behind the publish

    producer.completeNext();

    assertThat(done.get(5, TimeUnit.SECONDS)).isEqualTo(Outcome.DONE);
    assertThat(topics()).containsExactly("llm.jobs.retry", "llm.fleet.events");
    assertThat(event().outcome()).isEqualTo(io.promptfleet.common.job.LeaseOutcome.RETRY);
  }

  @Test
  void shouldHandBackWithoutATerminalRecordWhenAChunkWasNotWritten() throws Exception {
    records.started(T0);
    chunks.text(ChunkSink.TextKind.CONTENT, "Hi", null);
    onContext(() -> terminal.publish(records.succeeded(T0)));

    chunkAcks.get(0).onCompletion(null, new IllegalStateException("buffer full"));

    assertThat(done.get(5, TimeUnit.SECONDS)).isEqualTo(Outcome.HAND_BACK);
    assertThat(topics()).containsExactly("llm.fleet.events");
    assertThat(event().outcome()).isEqualTo(io.promptfleet.common.job.LeaseOutcome.HANDED_BACK);
  }

  @Test
  void shouldHandBackWhenTheTerminalRecordCannotBeWritten() throws Exception {
    records.started(T0);
    onContext(() -> terminal.publish(records.failed(Failures.ofHttp(429, ""), T0)));
    onContext(() -> { });

    producer.errorNext(new IllegalStateException("not leader"));

    assertThat(done.get(5, TimeUnit.SECONDS)).isEqualTo(Outcome.HAND_BACK);
    FleetEvent e = event();
    assertThat(e.outcome()).isEqualTo(io.promptfleet.common.job.LeaseOutcome.HANDED_BACK);
    assertThat(e.errorCode()).as("why the attempt failed").isEqualTo("upstream_rate_limited");
  }

  @Test
  void shouldFailAnEmbeddingsResultLargerThanOneRecordInsteadOfHandingItBackForever() throws Exception {
    StreamEnv small = new StreamEnv(env.vertx(), env.publisher(), env.clock(), "w1", 8192, env.meters(), 0, 4_096);
    Job job = new Job("job-2", "emb", List.of(), null, null, null, null, null, null, Map.of(),
        io.promptfleet.common.job.Endpoint.EMBEDDINGS, TextNode.valueOf("x"));
    Assignment a = new Assignment("lease-2", job, 1, Priority.NORMAL, new Route("r", "p", "m", null, null), "k1", T0,
        T0, null, "llm.replies");
    OutcomeRecords rec = new OutcomeRecords(a, new MessageAssembler(1 << 20), Clock.systemUTC(), s -> s);
    var vector = Json.mapper().createArrayNode();
    for (int i = 0; i < 1_000; i++) {
      vector.add(0.0123456789 * i);
    }
    rec.embeddings(new EmbeddingsAnswer(
        List.of(new io.promptfleet.common.job.Embedding(0, vector)), "m", io.promptfleet.common.job.Usage.of(1, 0)));
    rec.started(T0);
    TerminalPublisher publisher = new TerminalPublisher(small, context, a, rec,
        new ChunkSink("job-2", 1, 0, new ManualTimer(), (json, acked) -> { }, e -> { }), done::complete);

    onContext(() -> publisher.publish(rec.succeeded(T0)));
    onContext(() -> { });
    producer.completeNext();

    assertThat(done.get(5, TimeUnit.SECONDS)).isEqualTo(Outcome.DONE);
    var result = Json.read(producer.history().get(0).value(), io.promptfleet.common.job.Result.class);
    assertThat(result.status()).isEqualTo(io.promptfleet.common.job.JobStatus.FAILED);
    assertThat(result.data()).isNull();
    assertThat(result.error().code()).isEqualTo("result_too_large");
    assertThat(result.error().message()).startsWith("the result is ")
        .contains("more than one reply record holds (4096 bytes").endsWith("or encoding_format base64");
    assertThat(event().outcome()).isEqualTo(io.promptfleet.common.job.LeaseOutcome.FAILED);
  }

  /** Runs {@code r} on the context and waits until it (and everything queued there before it) ran. */
  private void onContext(Runnable r) throws Exception {
    CompletableFuture<Void> ran = new CompletableFuture<>();
    context.runOnContext(v -> {
      r.run();
      ran.complete(null);
    });
    ran.get(5, TimeUnit.SECONDS);
  }

  private List<String> topics() {
    return producer.history().stream().map(ProducerRecord::topic).toList();
  }

  private FleetEvent event() {
    return producer.history().stream().filter(r -> r.topic().equals("llm.fleet.events"))
        .map(r -> Json.read(r.value(), FleetEvent.class)).findFirst().orElseThrow();
  }

  private static Assignment assignment() {
    Job job = new Job("job-1", "gpt", List.of(new ChatMessage("user", TextNode.valueOf("Hi"), null, null, null)),
        null, null, null, null, null, null, Map.of());
    return new Assignment("lease-1", job, 1, Priority.NORMAL, new Route("r", "p", "m", null, null), "k1", T0, T0,
        null, "llm.replies");
  }
}
