package io.promptfleet.launcher;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.AssistantMessage;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.FunctionCall;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.Timings;
import io.promptfleet.common.job.ToolCall;
import io.promptfleet.common.job.ToolCallDelta;
import io.promptfleet.common.job.Usage;
import io.promptfleet.common.kafka.TopicPartitions;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code promptfleet tail}: follows a reply topic and prints chunks and results readably. */
@Command(name = "tail", mixinStandardHelpOptions = true, description = "Follow a reply topic in readable form.")
final class TailCommand implements Callable<Integer> {
  @Option(names = {"-b", "--bootstrap"}, defaultValue = "127.0.0.1:9092", description = "Kafka (default ${DEFAULT-VALUE})")
  String bootstrap;

  @Option(names = {"-t", "--topic"}, defaultValue = "llm.replies", description = "reply topic (default ${DEFAULT-VALUE})")
  String topic;

  @Option(names = "--from-beginning", description = "start at the beginning instead of now")
  boolean fromBeginning;

  @Option(names = "--job", description = "only this job id")
  String job;

  @Option(names = "--results-only", description = "print results only, not chunks")
  boolean resultsOnly;

  @Override
  public Integer call() {
    Main.quietKafkaClientLogs();
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    Map<String, Object> props = Map.of("bootstrap.servers", bootstrap, "key.deserializer", StringDeserializer.class,
        "value.deserializer", ByteArrayDeserializer.class, "isolation.level", "read_committed",
        "enable.auto.commit", false);
    try (var c = new KafkaConsumer<String, byte[]>(props)) {
      List<TopicPartition> parts = TopicPartitions.await(c, topic, Duration.ofSeconds(15));
      c.assign(parts);
      if (fromBeginning) {
        c.seekToBeginning(parts);
      } else {
        c.seekToEnd(parts);
      }
      while (!Thread.currentThread().isInterrupted()) {
        for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
          if ((job != null && !job.equals(r.key())) || (resultsOnly && !isResult(r))) {
            continue;
          }
          out.println(format(r));
        }
      }
    }
    return 0;
  }

  private static boolean isResult(ConsumerRecord<String, byte[]> r) {
    try {
      return Json.read(r.value(), Reply.class) instanceof Result;
    } catch (RuntimeException e) {
      return true;
    }
  }

  private static String abbreviate(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max) + "... (" + s.length() + " characters)";
  }

  static String format(ConsumerRecord<String, byte[]> r) {
    if (r.value() == null) {
      return r.key() + "  (empty record)";
    }
    Reply reply;
    try {
      reply = Json.read(r.value(), Reply.class);
    } catch (RuntimeException e) {
      return r.key() + "  (not a reply record: " + new String(r.value(), StandardCharsets.UTF_8) + ")";
    }
    return reply instanceof Chunk ch ? chunk(ch) : result((Result) reply);
  }

  /**
   * One line per chunk: {@code job  #attempt.seq  "text"} for text; the kind, then its piece, for the others
   * ({@code reasoning "..."}, {@code refusal "..."}, {@code tool_calls [0] call_1 get_weather "{\"ci"},
   * {@code function_call name "args"}, {@code extra {...}}); then the finish reason and whether logprobs came.
   */
  static String chunk(Chunk ch) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "%s  #%d.%d  ", ch.jobId(), ch.attempt(), ch.seq()));
    List<String> kinds = new ArrayList<>();
    if (ch.reasoning() != null) {
      kinds.add("reasoning " + Json.string(ch.reasoning()));
    }
    if (ch.refusal() != null) {
      kinds.add("refusal " + Json.string(ch.refusal()));
    }
    if (ch.toolCalls() != null) {
      List<String> parts = new ArrayList<>();
      for (ToolCallDelta d : ch.toolCalls()) {
        StringBuilder p = new StringBuilder("[" + d.index() + "]");
        if (d.id() != null) {
          p.append(' ').append(d.id());
        }
        if (d.function() != null && d.function().name() != null) {
          p.append(' ').append(d.function().name());
        }
        if (d.function() != null && d.function().arguments() != null) {
          p.append(' ').append(Json.string(d.function().arguments()));
        }
        parts.add(p.toString());
      }
      kinds.add("tool_calls " + String.join("; ", parts));
    }
    if (ch.functionCall() != null) {
      FunctionCall f = ch.functionCall();
      kinds.add("function_call" + (f.name() != null ? " " + f.name() : "")
          + (f.arguments() != null ? " " + Json.string(f.arguments()) : ""));
    }
    if (ch.extra() != null && !ch.extra().isNull()) {
      kinds.add("extra " + abbreviate(ch.extra().toString(), 200));
    }
    String delta = ch.delta() == null ? "" : ch.delta();
    if (kinds.isEmpty() || !delta.isEmpty()) {
      kinds.add(0, Json.string(delta));
    }
    sb.append(String.join("  ", kinds));
    if (ch.finishReason() != null) {
      sb.append("  (finish: ").append(ch.finishReason()).append(')');
    }
    if (ch.logprobs() != null && !ch.logprobs().isNull()) {
      sb.append("  +logprobs");
    }
    return sb.toString();
  }

  /** The result's status line (tokens with their details, timings, cost), then its calls, refusal or error. */
  static String result(Result res) {
    StringBuilder sb = new StringBuilder();
    sb.append(res.jobId()).append("  ").append(res.status().wireName().toUpperCase(Locale.ROOT))
        .append(" attempt ").append(res.attempt());
    if (res.finishReason() != null) {
      sb.append(", ").append(res.finishReason());
    }
    Usage u = res.usage();
    if (u != null) {
      sb.append(", ").append(u.promptTokens()).append("+").append(u.completionTokens()).append(" tokens");
      List<String> details = new ArrayList<>();
      if (u.cachedTokens() > 0) {
        details.add(u.cachedTokens() + " cached");
      }
      if (u.reasoningTokens() > 0) {
        details.add(u.reasoningTokens() + " reasoning");
      }
      if (!details.isEmpty()) {
        sb.append(" (").append(String.join(", ", details)).append(')');
      }
    }
    Timings t = res.timings();
    if (t != null) {
      sb.append(", ttft ").append(t.timeToFirstTokenMs()).append(" ms");
      if (t.timeToFirstContentMs() != null && !t.timeToFirstContentMs().equals(t.timeToFirstTokenMs())) {
        sb.append(", first content ").append(t.timeToFirstContentMs()).append(" ms");
      }
      sb.append(", total ").append(t.totalMs()).append(" ms");
    }
    if (res.cost() != null) {
      sb.append(String.format(Locale.ROOT, ", $%.6f", res.cost()));
    }
    AssistantMessage m = res.message();
    if (m != null) {
      if (m.reasoning() != null) {
        sb.append("\n    reasoning: ").append(m.reasoning().length()).append(" characters");
      }
      if (m.toolCalls() != null) {
        for (ToolCall c : m.toolCalls()) {
          sb.append("\n    tool_call ").append(c.id()).append(' ')
              .append(c.function() == null ? null : c.function().name()).append(' ')
              .append(c.function() == null ? null : c.function().arguments());
        }
      }
      if (m.functionCall() != null) {
        sb.append("\n    function_call ").append(m.functionCall().name()).append(' ')
            .append(m.functionCall().arguments());
      }
      if (m.refusal() != null) {
        sb.append("\n    refusal: ").append(Json.string(m.refusal()));
      }
      if (!m.extra().isEmpty()) {
        sb.append("\n    also: ").append(String.join(", ", m.extra().keySet()));
      }
    }
    if (Boolean.TRUE.equals(res.logprobsTruncated())) {
      sb.append("\n    logprobs truncated");
    }
    if (res.error() != null) {
      sb.append("\n    ").append(res.error().code()).append(": ").append(res.error().message());
    }
    return sb.toString();
  }
}
