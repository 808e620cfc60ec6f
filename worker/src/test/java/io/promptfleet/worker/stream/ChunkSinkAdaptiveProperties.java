package io.promptfleet.worker.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.Reply;
import io.promptfleet.worker.upstream.ChunkEvent;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.apache.kafka.clients.producer.Callback;

/**
 * Adaptive coalescing ({@link ChunkSink} with chunks in flight) under any interleaving of deltas of every kind, acks
 * in any order and the event loop running its queued tasks late: every delta reaches a chunk, in order (the chunks'
 * text per kind, joined, is the deltas' text; kinds and tool calls keep their order), chunks are numbered 0, 1, 2...
 * without a gap, and no text is held while fewer chunks than the limit wait for an ack once the loop has run. jqwik
 * prints the seed of a failing run.
 */
class ChunkSinkAdaptiveProperties {

  @Property(tries = 400)
  void shouldLoseReorderAndHoldBackNothing(
      @ForAll @Size(min = 1, max = 200) List<@IntRange(min = 0, max = 1_000) Integer> ops,
      @ForAll @IntRange(min = 1, max = 3) int maxInFlight) throws IOException {
    new Run(maxInFlight).play(ops);
  }

  private static final class Run {
    final List<byte[]> sent = new ArrayList<>();
    final List<Callback> unacked = new ArrayList<>();
    final Queue<Runnable> loop = new ArrayDeque<>();
    final List<String> expected = new ArrayList<>();
    final int maxInFlight;
    final ChunkSink sink;

    Run(int maxInFlight) {
      this.maxInFlight = maxInFlight;
      this.sink = new ChunkSink("job-1", 1, 0, maxInFlight, loop::add, new ManualTimer(), (json, acked) -> {
        sent.add(json);
        unacked.add(acked);
      }, e -> { });
    }

    void play(List<Integer> ops) throws IOException {
      int n = 0;
      for (int op : ops) {
        int arg = op / 10;
        switch (op % 10) {
          case 0, 1, 2 -> delta("content", "c" + n++ + " ");
          case 3 -> delta("reasoning_content", "r" + n++ + " ");
          case 4 -> delta("refusal", "x" + n++ + " ");
          case 5 -> {
            String name = "t" + n++;
            sink.delta(ChunkEvent.parse("{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
                + "\"function\":{\"name\":\"" + name + "\",\"arguments\":\"{}\"}}]}}]}"));
            expected.add("tool:" + name);
          }
          case 6 -> {
            String text = "l" + n++ + " ";
            sink.delta(ChunkEvent.parse("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + text
                + "\"},\"logprobs\":{\"content\":[]}}]}"));
            expected.add("content:" + text);
          }
          case 7, 8 -> ack(arg);
          default -> {
            runLoop();
            if (sink.unacked() < maxInFlight) {
              assertThat(merged(sentItems())).as("nothing is held while fewer than %d chunks are unacked",
                  maxInFlight).isEqualTo(merged(expected));
            }
          }
        }
      }
      sink.close(true);
      while (!unacked.isEmpty()) {
        ack(0);
      }
      runLoop();
      List<Chunk> chunks = chunks();
      for (int i = 0; i < chunks.size(); i++) {
        assertThat(chunks.get(i).seq()).as("chunks numbered without a gap").isEqualTo(i);
      }
      assertThat(merged(sentItems())).as("every delta, in order").isEqualTo(merged(expected));
    }

    void delta(String field, String text) throws IOException {
      sink.delta(ChunkEvent.parse("{\"choices\":[{\"index\":0,\"delta\":{\"" + field + "\":\"" + text + "\"}}]}"));
      expected.add(kindOf(field) + ":" + text);
    }

    void ack(int which) {
      if (!unacked.isEmpty()) {
        unacked.remove(which % unacked.size()).onCompletion(null, null);
      }
    }

    void runLoop() {
      for (Runnable r = loop.poll(); r != null; r = loop.poll()) {
        r.run();
      }
    }

    List<Chunk> chunks() {
      return sent.stream().map(b -> (Chunk) Json.read(b, Reply.class)).toList();
    }

    List<String> sentItems() {
      List<String> out = new ArrayList<>();
      for (Chunk c : chunks()) {
        if (c.toolCalls() != null) {
          out.add("tool:" + c.toolCalls().get(0).function().name());
        } else if (c.reasoning() != null) {
          out.add("reasoning:" + c.reasoning());
        } else if (c.refusal() != null) {
          out.add("refusal:" + c.refusal());
        } else {
          out.add("content:" + c.delta());
        }
      }
      return out;
    }

    static String kindOf(String field) {
      return field.equals("reasoning_content") ? "reasoning" : field;
    }

    /** Adjacent text of one kind joined: what a reader makes of the chunks. */
    static List<String> merged(List<String> items) {
      List<String> out = new ArrayList<>();
      for (String item : items) {
        int last = out.size() - 1;
        String kind = item.substring(0, item.indexOf(':') + 1);
        if (last >= 0 && !kind.equals("tool:") && out.get(last).startsWith(kind)) {
          out.set(last, out.get(last) + item.substring(kind.length()));
        } else {
          out.add(item);
        }
      }
      return out;
    }
  }
}
