package io.promptfleet.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code promptfleet submit "prompt"}: produces one job and streams its answer to the terminal. */
@Command(name = "submit", mixinStandardHelpOptions = true,
    description = "Submit one prompt and stream the answer as it arrives.")
final class SubmitCommand implements Callable<Integer> {
  @Parameters(index = "0", description = "the prompt")
  String prompt;

  @Option(names = {"-b", "--bootstrap"}, defaultValue = "127.0.0.1:9092", description = "Kafka (default ${DEFAULT-VALUE})")
  String bootstrap;

  @Option(names = "--model", defaultValue = "sim", description = "model (default ${DEFAULT-VALUE})")
  String model;

  @Option(names = "--priority", defaultValue = "normal", description = "high, normal or low (default normal)")
  String priority;

  @Option(names = "--max-tokens", description = "completion budget")
  Integer maxTokens;

  @Option(names = "--reply-to", defaultValue = "llm.replies", description = "reply topic (default ${DEFAULT-VALUE})")
  String replyTo;

  @Option(names = "--job-id", description = "job id (default: a random one)")
  String jobId;

  @Option(names = "--timeout", defaultValue = "120s", description = "give up after (default 120s)")
  String timeout;

  @Override
  public Integer call() throws Exception {
    Main.quietKafkaClientLogs();
    if (!List.of("high", "normal", "low").contains(priority)) {
      throw new IllegalArgumentException("--priority must be high, normal or low");
    }
    String id = jobId != null ? jobId : "cli-" + UUID.randomUUID();
    ObjectNode job = Json.mapper().createObjectNode();
    job.put("job_id", id).put("model", model).put("reply_to", replyTo);
    job.putArray("messages").addObject().put("role", "user").put("content", prompt);
    if (maxTokens != null) {
      job.put("max_tokens", maxTokens);
    }
    Map<String, Object> cprops = Map.of("bootstrap.servers", bootstrap, "group.id", "pf-submit-" + id,
        "enable.auto.commit", false, "key.deserializer", StringDeserializer.class,
        "value.deserializer", ByteArrayDeserializer.class, "isolation.level", "read_committed");
    Map<String, Object> pprops = Map.of("bootstrap.servers", bootstrap, "acks", "all",
        "key.serializer", StringSerializer.class, "value.serializer", ByteArraySerializer.class);
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    try (var consumer = new KafkaConsumer<String, byte[]>(cprops);
         var producer = new KafkaProducer<String, byte[]>(pprops)) {
      List<TopicPartition> parts = new ArrayList<>();
      consumer.partitionsFor(replyTo, Duration.ofSeconds(15))
          .forEach(p -> parts.add(new TopicPartition(replyTo, p.partition())));
      consumer.assign(parts);
      consumer.seekToEnd(parts);
      parts.forEach(consumer::position); // pin the start before the job exists
      producer.send(new ProducerRecord<>("llm.jobs." + priority, id, Json.bytes(job))).get();
      long until = System.nanoTime() + Durations.parse(timeout).toNanos();
      int attempt = -1;
      while (System.nanoTime() < until) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          if (!id.equals(r.key())) {
            continue;
          }
          Reply reply = Json.read(r.value(), Reply.class);
          if (reply instanceof Chunk c) {
            if (attempt != -1 && c.attempt() != attempt && c.seq() == 0) {
              out.println("\n[attempt " + c.attempt() + "]");
            }
            attempt = c.attempt();
            out.print(c.delta());
          } else if (reply instanceof Result res) {
            out.println();
            JsonNode summary = Json.mapper().valueToTree(res);
            ((ObjectNode) summary).remove("content");
            System.err.println(res.status().wireName() + ": " + summary);
            return res.status() == io.promptfleet.common.job.JobStatus.SUCCEEDED ? 0 : 1;
          }
        }
      }
      System.err.println("no result for " + id + " within " + timeout);
      return 3;
    }
  }
}
