package io.promptfleet.launcher;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.job.Result;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
      List<TopicPartition> parts = new ArrayList<>();
      c.partitionsFor(topic, Duration.ofSeconds(15)).forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
      if (parts.isEmpty()) {
        throw new IllegalArgumentException("topic " + topic + " does not exist");
      }
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

  static String format(ConsumerRecord<String, byte[]> r) {
    Reply reply;
    try {
      reply = Json.read(r.value(), Reply.class);
    } catch (RuntimeException e) {
      return r.key() + "  (not a reply record: " + new String(r.value(), StandardCharsets.UTF_8) + ")";
    }
    if (reply instanceof Chunk ch) {
      return String.format("%s  #%d.%d  %s", ch.jobId(), ch.attempt(), ch.seq(), Json.string(ch.delta()));
    }
    Result res = (Result) reply;
    StringBuilder sb = new StringBuilder();
    sb.append(res.jobId()).append("  ").append(res.status().wireName().toUpperCase(java.util.Locale.ROOT))
        .append(" attempt ").append(res.attempt());
    if (res.usage() != null) {
      sb.append(", ").append(res.usage().promptTokens()).append("+").append(res.usage().completionTokens())
          .append(" tokens");
    }
    if (res.timings() != null) {
      sb.append(", ttft ").append(res.timings().timeToFirstTokenMs()).append(" ms, total ")
          .append(res.timings().totalMs()).append(" ms");
    }
    if (res.cost() != null) {
      sb.append(String.format(java.util.Locale.ROOT, ", $%.6f", res.cost()));
    }
    if (res.error() != null) {
      sb.append("\n    ").append(res.error().code()).append(": ").append(res.error().message());
    }
    return sb.toString();
  }
}
