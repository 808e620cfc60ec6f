package io.promptfleet.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.client.ChunkListener;
import io.promptfleet.client.JobRequest;
import io.promptfleet.client.PromptFleetClient;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/** The Java client's request/reply round trip against a real fleet. */
class ClientIT {

  private static PromptFleetClient client(TestFleet fleet) {
    return PromptFleetClient.builder(fleet.config.kafka().bootstrapServers())
        .replyTopic(fleet.replies()).jobTopicPrefix(fleet.prefix + ".jobs.").defaultModel("sim").build();
  }

  @Test
  void shouldStreamChunksInOrderAndCompleteWithTheResult() throws Exception {
    try (TestFleet fleet = TestFleet.start(1); PromptFleetClient client = client(fleet)) {
      List<Chunk> chunks = new CopyOnWriteArrayList<>();
      Result r = client.submit(JobRequest.prompt("hello there").maxTokens(12).build(), chunks::add)
          .get(60, TimeUnit.SECONDS);
      assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
      assertThat(r.usage().completionTokens()).isEqualTo(12);
      // what a caller may rely on: every chunk in order without a gap, their text joined is the answer; not one
      // chunk per token (a burst of deltas is coalesced into one chunk: worker.chunks_in_flight)
      assertThat(chunks).isNotEmpty().extracting(Chunk::seq)
          .containsExactlyElementsOf(LongStream.range(0, chunks.size()).boxed().toList());
      assertThat(r.content()).isEqualTo(chunks.stream().map(Chunk::delta).collect(Collectors.joining()));
    }
  }

  @Test
  void shouldReturnThePendingFutureWhenTheSameJobIsSubmittedAgain() throws Exception {
    try (TestFleet fleet = TestFleet.start(1); PromptFleetClient client = client(fleet)) {
      JobRequest job = JobRequest.prompt("once only").jobId(fleet.prefix + "-idem").maxTokens(5).build();
      CompletableFuture<Result> first = client.submit(job);
      CompletableFuture<Result> again = client.submit(job);
      assertThat(again).isSameAs(first);
      assertThat(first.get(60, TimeUnit.SECONDS).status()).isEqualTo(JobStatus.SUCCEEDED);
      // exactly one job went to the fleet
      var results = fleet.awaitResults(1, java.time.Duration.ofSeconds(5));
      assertThat(TestFleet.results(results.get(fleet.prefix + "-idem"))).hasSize(1);
    }
  }

  @Test
  void shouldHandManyConcurrentJobsToTheRightCallers() throws Exception {
    try (TestFleet fleet = TestFleet.start(2); PromptFleetClient client = client(fleet)) {
      List<CompletableFuture<Result>> futures = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        futures.add(client.submit(JobRequest.prompt("n" + i).jobId(fleet.prefix + "-c" + i).maxTokens(3 + i % 5)
            .build()));
      }
      for (int i = 0; i < 50; i++) {
        Result r = futures.get(i).get(90, TimeUnit.SECONDS);
        assertThat(r.jobId()).isEqualTo(fleet.prefix + "-c" + i);
        assertThat(r.usage().completionTokens()).isEqualTo(3 + i % 5);
      }
      assertThat(client.pendingCount()).isZero();
    }
  }

  @Test
  void shouldDiscardTheChunksOfACutAttemptAndDeliverTheAttempt2Answer() throws Exception {
    try (TestFleet fleet = TestFleet.start(1); PromptFleetClient client = client(fleet)) {
      List<Chunk> delivered = new CopyOnWriteArrayList<>();
      List<Integer> restarts = new CopyOnWriteArrayList<>();
      ChunkListener listener = new ChunkListener() {
        @Override
        public void onChunk(Chunk chunk) {
          delivered.add(chunk);
        }

        @Override
        public void onRestart(int attempt) {
          restarts.add(attempt);
          delivered.clear();
        }
      };
      // the simulator cuts the first stream after 3 chunks; the fleet retries
      Result r = client.submit(JobRequest.prompt("flaky " + fleet.prefix + " [[sim:cut after=3 times=1]]")
          .maxTokens(8).build(), listener).get(90, TimeUnit.SECONDS);
      assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
      assertThat(r.attempts()).isGreaterThanOrEqualTo(2);
      assertThat(restarts).containsExactly(r.attempt());
      assertThat(delivered).extracting(Chunk::attempt).containsOnly(r.attempt());
      assertThat(r.content()).isEqualTo(delivered.stream().map(Chunk::delta).collect(Collectors.joining()));
    }
  }

  @Test
  void shouldCancelAJobInFlightAndAnswerItCancelled() throws Exception {
    try (TestFleet fleet = TestFleet.start(1); PromptFleetClient client = client(fleet)) {
      List<Chunk> chunks = new CopyOnWriteArrayList<>();
      String jobId = fleet.prefix + "-cancel";
      CompletableFuture<Result> answer = client.submit(JobRequest.prompt("a long one [[sim:slow tps=5]]")
          .jobId(jobId).maxTokens(400).build(), chunks::add);
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (chunks.isEmpty() && System.nanoTime() < until) {
        Thread.sleep(20);
      }
      assertThat(chunks).as("the stream started").isNotEmpty();

      client.cancel(jobId).get(30, TimeUnit.SECONDS);

      Result r = answer.get(60, TimeUnit.SECONDS);
      assertThat(r.status()).isEqualTo(JobStatus.CANCELLED);
      assertThat(r.error().code()).isEqualTo(io.promptfleet.common.job.ErrorCodes.CANCELLED);
      String streamed = chunks.stream().map(Chunk::delta).collect(Collectors.joining()).strip();
      assertThat(streamed.split(" +")).as("cut short, not run to 400 tokens (the simulator's words)")
          .hasSizeLessThan(400);
    }
  }

  @Test
  void shouldHandEachKindOfDeltaToItsCallbackAndTheFinishReasonBeforeTheResult() throws Exception {
    try (TestFleet fleet = TestFleet.start(1); PromptFleetClient client = client(fleet)) {
      List<String> reasoning = new CopyOnWriteArrayList<>();
      List<String> text = new CopyOnWriteArrayList<>();
      List<io.promptfleet.common.job.ToolCall> calls = new CopyOnWriteArrayList<>();
      List<String> finish = new CopyOnWriteArrayList<>();
      var tools = io.promptfleet.common.codec.Json.mapper().readTree(
          "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{}}},"
          + "{\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"parameters\":{}}}]");
      ChunkListener listener = new ChunkListener() {
        final io.promptfleet.common.job.ToolCallAssembler assembler =
            new io.promptfleet.common.job.ToolCallAssembler();

        @Override
        public void onChunk(Chunk chunk) {}

        @Override
        public void onReasoning(String t) {
          reasoning.add(t);
        }

        @Override
        public void onContent(String t) {
          text.add(t);
        }

        @Override
        public void onToolCallDelta(io.promptfleet.common.job.ToolCallDelta d) {
          calls.addAll(assembler.add(d));
        }

        @Override
        public void onFinish(String reason) {
          calls.addAll(assembler.finish());
          finish.add(reason);
        }
      };

      Result r = client.submit(JobRequest.prompt("weather and time? [[sim:reasoning tokens=3]] "
          + "[[sim:tool_calls n=2 split=4 text=true]]").tools(tools).maxCompletionTokens(200).build(), listener)
          .get(60, TimeUnit.SECONDS);

      assertThat(r.status()).isEqualTo(JobStatus.SUCCEEDED);
      assertThat(finish).containsExactly("tool_calls");
      assertThat(calls).as("whole calls assembled from the callbacks").isEqualTo(r.toolCalls());
      assertThat(calls).extracting(c -> c.function().name()).containsExactly("get_weather", "get_time");
      assertThat(String.join("", reasoning)).isEqualTo(r.reasoning());
      assertThat(String.join("", text)).isEqualTo(r.text()).isNotEmpty();
    }
  }
}
