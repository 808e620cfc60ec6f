package io.promptfleet.worker.stream.sse;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Opt-in throughput harness, not a test: parses a 50-chunk OpenAI stream (with a new parser each time, as the
 * worker does per request) and prints wall and CPU nanoseconds per stream for three read patterns.
 *
 * <pre>java -cp classes:test-classes io.promptfleet.worker.stream.sse.SseParserThroughput [iterations]</pre>
 */
public final class SseParserThroughput {
  private static long sink;

  private SseParserThroughput() {}

  public static void main(String[] args) {
    int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
    byte[] whole = OpenAiStreamFixture.streamBytes(50);
    List<byte[]> perEvent = OpenAiStreamFixture.eventBytes(50);
    List<byte[]> segments = new ArrayList<>();
    for (int i = 0; i < whole.length; i += 1400) {
      segments.add(Arrays.copyOfRange(whole, i, Math.min(whole.length, i + 1400)));
    }
    System.out.printf("stream: %d bytes, %d events%n", whole.length, perEvent.size());
    for (int round = 0; round < 2; round++) {
      String phase = round == 0 ? "warm-up" : "measured";
      measure(phase + " one read per event   ", perEvent, iterations);
      measure(phase + " 1400-byte reads      ", segments, iterations);
      measure(phase + " whole stream, 1 read ", List.of(whole), iterations);
    }
    System.out.println("(sink " + sink + ")");
  }

  private static void measure(String label, List<byte[]> reads, int iterations) {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long[] total = {0};
    SseListener listener = (type, data, id) -> total[0] += data.length();
    long cpu0 = threads.getCurrentThreadCpuTime();
    long wall0 = System.nanoTime();
    for (int i = 0; i < iterations; i++) {
      SseParser parser = new SseParser(listener, 1 << 20, 8 << 20);
      for (byte[] read : reads) {
        parser.feed(read, 0, read.length);
      }
      parser.end();
    }
    long wall = System.nanoTime() - wall0;
    long cpu = threads.getCurrentThreadCpuTime() - cpu0;
    sink += total[0];
    System.out.printf("%s: %,8d ns/stream wall, %,8d ns/stream CPU%n", label, wall / iterations, cpu / iterations);
  }
}
