package io.promptfleet.bench.worker;

import io.promptfleet.common.config.ProviderProtocol;
import io.promptfleet.worker.stream.sse.SseListener;
import io.promptfleet.worker.stream.sse.SseParser;
import io.promptfleet.worker.stream.sse.Utf8;
import io.promptfleet.worker.upstream.ChunkEvent;
import io.promptfleet.worker.upstream.Failure;
import io.promptfleet.worker.upstream.Protocols;
import io.promptfleet.worker.upstream.StreamDecoder;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The per-event path of one stream in isolation, with no network and no Kafka: the baseline's mock stream (50
 * {@code chat.completion.chunk} events of 49 text deltas, then {@code [DONE]}, 11,320 bytes, one read per event)
 * through the worker's SSE parser and OpenAI decoder, by the event's text (each event decoded to a {@code String}
 * and read by Jackson's text parser: the worker before issue 13) and by its bytes (as {@code CompletionCall} reads
 * it now). The two alternate round by round in one thread, so the machine's load falls on both alike; CPU time of
 * the thread, median of the rounds after the warm-up. Env: ROUNDS (30), STREAMS per round (20000).
 */
public final class DecodeBench {
  private DecodeBench() {}

  /** Counts what the decoder gives, so none of it is dead code. */
  private static final class Count implements StreamDecoder.Events {
    long deltas;

    @Override
    public void event(ChunkEvent e) {
      deltas += e.content() == null ? 0 : e.content().length();
    }

    @Override
    public void failure(Failure f) {
      throw new IllegalStateException(f.toString());
    }
  }

  public static void main(String[] args) {
    int rounds = Integer.parseInt(BenchFleet.env("ROUNDS", "30"));
    int streams = Integer.parseInt(BenchFleet.env("STREAMS", "20000"));
    List<byte[]> reads = mockStream();
    Count count = new Count();
    AlternatingRounds.Result r = AlternatingRounds.run(rounds, streams, byBytes -> stream(reads, byBytes, count));
    List<Double> text = r.first();
    List<Double> bytes = r.second();
    System.out.printf(Locale.ROOT, "one 50-event stream through SseParser and the OpenAI decoder, CPU µs (median of %d"
        + " rounds of %d, min-max): by text %.2f (%.2f-%.2f), by bytes %.2f (%.2f-%.2f): %.0f %% less (%d chars)%n",
        rounds, streams, text.get(rounds / 2), text.get(0), text.get(rounds - 1), bytes.get(rounds / 2), bytes.get(0),
        bytes.get(rounds - 1), 100 * (1 - bytes.get(rounds / 2) / text.get(rounds / 2)), count.deltas);
  }

  private static void stream(List<byte[]> reads, boolean byBytes, Count out) {
    StreamDecoder decoder = Protocols.of(ProviderProtocol.OPENAI).streamDecoder();
    SseParser parser = new SseParser(new SseListener() {
      @Override
      public void onEvent(String type, String data, String id) {
        decoder.decode(type, data, out);
      }

      @Override
      public void onEvent(String type, byte[] data, int offset, int length, String id) {
        if (!byBytes) {
          onEvent(type, Utf8.decode(data, offset, length), id); // the worker before: a String per event
        } else if (Utf8.isWellFormed(data, offset, length)) {
          decoder.decode(type, data, offset, length, out);
        } else {
          decoder.decode(type, Utf8.decode(data, offset, length), out);
        }
      }
    }, 1 << 20, 4 << 20);
    for (byte[] read : reads) {
      parser.feed(read, 0, read.length);
    }
    parser.end();
    if (!decoder.complete()) {
      throw new IllegalStateException("incomplete");
    }
  }

  /** The events of {@code /work/shared/baselines/mock-upstream.js}, one read each. */
  private static List<byte[]> mockStream() {
    List<byte[]> reads = new ArrayList<>();
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (int i = 0; i < 50; i++) {
      String delta = i == 0 ? "{\"role\":\"assistant\",\"content\":\"\"}" : "{\"content\":\"tok" + i + " \"}";
      String e = "data: {\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion.chunk\",\"created\":1764500000,"
          + "\"model\":\"mock-model\",\"system_fingerprint\":\"fp_mock\",\"choices\":[{\"index\":0,\"delta\":" + delta
          + ",\"logprobs\":null,\"finish_reason\":" + (i == 49 ? "\"stop\"" : "null") + "}]}\n\n";
      reads.add(e.getBytes(StandardCharsets.UTF_8));
      all.writeBytes(e.getBytes(StandardCharsets.UTF_8));
    }
    reads.add("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
    all.writeBytes(reads.get(reads.size() - 1));
    System.out.println("mock stream: " + all.size() + " bytes in " + reads.size() + " reads");
    return reads;
  }

}
