package io.promptfleet.launcher.it;

import io.promptfleet.common.job.Assignment;
import java.time.Duration;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Reply;
import io.promptfleet.launcher.Main;
import io.promptfleet.simulator.SimulatorOptions;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code promptfleet batch} on a file with good and bad lines, then resumed runs, then runs to new outputs, and a run
 * killed before its first output line.
 */
class BatchIT {

  @Test
  void shouldAnswerEveryLineGoodOrBadAndResumeWithoutResending(@TempDir Path dir) throws Exception {
    try (TestFleet fleet = TestFleet.start(2)) {
      Path in = dir.resolve("in.jsonl");
      Path out = dir.resolve("out.jsonl");
      List<String> lines = new ArrayList<>();
      for (int i = 0; i < 30; i++) {
        lines.add(chatLine(i));
      }
      lines.add("this line is not json");
      lines.add("{\"custom_id\":\"no-body\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\"}");
      lines.add("{\"custom_id\":\"embeddings\",\"method\":\"POST\",\"url\":\"/v1/embeddings\",\"body\":"
          + "{\"model\":\"sim\",\"input\":[\"a\",\"b\"],\"dimensions\":4}}");
      lines.add("{\"custom_id\":\"no-input\",\"method\":\"POST\",\"url\":\"/v1/embeddings\",\"body\":"
          + "{\"model\":\"sim\"}}");
      lines.add("{\"custom_id\":\"completions\",\"method\":\"POST\",\"url\":\"/v1/completions\",\"body\":{}}");
      lines.add("{\"custom_id\":\"unknown-model\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\","
          + "\"body\":{\"model\":\"gpt-nope\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}}");
      lines.add(lines.get(0)); // a duplicate custom_id
      Files.write(in, lines, StandardCharsets.UTF_8);

      int code = run(fleet, in, out);
      assertThat(code).isEqualTo(1); // some lines failed

      Map<String, JsonNode> byId = read(out);
      assertThat(byId).hasSize(37);
      for (int i = 0; i < 30; i++) {
        JsonNode n = byId.get("req-" + i);
        assertThat(n.path("response").path("status_code").asInt()).as("req-%d", i).isEqualTo(200);
        assertThat(n.path("response").path("body").path("choices").get(0).path("message").path("content").asText())
            .isNotBlank();
        assertThat(n.path("response").path("body").path("usage").path("completion_tokens").asInt()).isEqualTo(4);
        assertThat(n.get("error").isNull()).isTrue();
      }
      assertThat(byId.get("line-31").path("error").path("message").asText()).contains("not JSON");
      assertThat(byId.get("no-body").path("error").path("message").asText()).contains("body must be an object");
      JsonNode embeddings = byId.get("embeddings").path("response").path("body");
      assertThat(embeddings.path("object").asText()).isEqualTo("list");
      assertThat(embeddings.path("data")).hasSize(2);
      assertThat(embeddings.path("data").get(1).path("index").asInt()).isEqualTo(1);
      assertThat(embeddings.path("data").get(1).path("embedding")).hasSize(4);
      assertThat(embeddings.path("usage").path("total_tokens").asInt()).isEqualTo(2);
      assertThat(byId.get("no-input").path("error").path("message").asText()).contains("body.input is missing");
      assertThat(byId.get("completions").path("error").path("message").asText())
          .contains("url /v1/completions is not supported");
      assertThat(byId.get("unknown-model").path("error").path("code").asText()).isEqualTo("unknown_model");
      assertThat(byId.keySet()).anyMatch(k -> k.startsWith("req-0#line"));

      // When the same command runs again, nothing is sent again
      long linesBefore = Files.lines(out).count();
      int code2 = run(fleet, in, out);
      assertThat(code2).isZero();
      assertThat(Files.lines(out).count()).isEqualTo(linesBefore);

      // A run interrupted after its jobs were answered but before their lines were written: the re-run produces
      // them again, the fleet does not run them twice (idempotent job ids), and the re-run writes the first results
      List<String> kept = Files.readAllLines(out, StandardCharsets.UTF_8).stream()
          .filter(l -> !l.contains("\"custom_id\":\"req-1\"") && !l.contains("\"custom_id\":\"req-2\"")).toList();
      assertThat(kept).hasSize((int) linesBefore - 2);
      Files.write(out, kept, StandardCharsets.UTF_8);
      assertThat(run(fleet, in, out)).isZero();
      Map<String, JsonNode> again = read(out);
      assertThat(again).hasSize(37);
      for (String id : List.of("req-1", "req-2")) {
        assertThat(again.get(id).path("response").path("body").path("id").asText()).as(id)
            .isEqualTo(byId.get(id).path("response").path("body").path("id").asText());
      }
      List<String> runs = TestFleet.readUntil(fleet.config.kafka().bootstrapServers(),
          fleet.config.topics().assignments(), Duration.ofSeconds(3), all -> false).stream()
          .map(r -> Json.read(r.value(), Assignment.class).job().jobId())
          .filter(id -> id.endsWith("-req-1") || id.endsWith("-req-2")).toList();
      assertThat(runs).as("one run each").hasSize(2);
    }
  }

  @Test
  void shouldRunTheFileAgainToANewOutputAndStopAResumeWhoseLinesNobodyAnswers(@TempDir Path dir) throws Exception {
    try (TestFleet fleet = TestFleet.start(2)) {
      Path in = dir.resolve("in.jsonl");
      List<String> lines = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        lines.add(chatLine(i));
      }
      Files.write(in, lines, StandardCharsets.UTF_8);
      Path first = dir.resolve("first.jsonl");
      assertThat(run(fleet, in, first)).isZero();

      // The same input to a new output runs every line again (new job ids), well within the dedupe window
      Path second = dir.resolve("second.jsonl");
      assertThat(run(fleet, in, second, "--timeout", "60s")).isZero();
      Map<String, JsonNode> a = read(first);
      Map<String, JsonNode> b = read(second);
      assertThat(b).hasSize(20);
      for (int i = 0; i < 20; i++) {
        String id = "req-" + i;
        assertThat(b.get(id).path("response").path("status_code").asInt()).as(id).isEqualTo(200);
        assertThat(b.get(id).path("id").asText()).as(id).isNotEqualTo(a.get(id).path("id").asText());
      }
      List<String> runs = TestFleet.readUntil(fleet.config.kafka().bootstrapServers(),
          fleet.config.topics().assignments(), Duration.ofSeconds(3), all -> false).stream()
          .map(r -> Json.read(r.value(), Assignment.class).job().jobId()).toList();
      assertThat(runs).as("each line run once per output").hasSize(40).doesNotHaveDuplicates();

      // A resume whose carried-over lines were answered where it cannot read them (here: before its read-back,
      // which starts shortly before the output's last write): the fleet drops them as duplicates; the run stops,
      // says why, and writes no line for them
      Path third = dir.resolve("third.jsonl");
      Files.write(third, Files.readAllLines(second, StandardCharsets.UTF_8).stream()
          .filter(l -> !l.contains("\"custom_id\":\"req-3\"") && !l.contains("\"custom_id\":\"req-4\"")).toList(),
          StandardCharsets.UTF_8);
      Files.setLastModifiedTime(third, FileTime.from(Instant.now().plus(Duration.ofHours(1))));
      double duplicatesBefore = counter(fleet, "promptfleet_dispatcher_duplicates_total");
      StringWriter err = new StringWriter();
      int code = run(fleet, in, third, err, "--timeout", "60s", "--resume-wait", "5s");
      assertThat(code).isNotZero();
      assertThat(err.toString()).contains("stopped: no answer for 5s with 2 lines unanswered (req-3, req-4)",
          "dedupe_window_ms", "Re-run the same command later", "new output file (-o)");
      assertThat(read(third)).hasSize(18);
      assertThat(counter(fleet, "promptfleet_dispatcher_duplicates_total") - duplicatesBefore).isEqualTo(2.0);

      // ... and the same command, once their answers are readable again, collects them
      Files.setLastModifiedTime(third, FileTime.from(Instant.now()));
      assertThat(run(fleet, in, third, "--timeout", "60s", "--resume-wait", "5s")).isZero();
      Map<String, JsonNode> c = read(third);
      assertThat(c).hasSize(20);
      for (String id : List.of("req-3", "req-4")) {
        assertThat(c.get(id).path("id").asText()).as(id).isEqualTo(b.get(id).path("id").asText());
        assertThat(c.get(id).path("response").path("status_code").asInt()).as(id).isEqualTo(200);
      }
    }
  }

  @Test
  void shouldResumeARunKilledBeforeItsFirstOutputLineUnderTheSameJobIds(@TempDir Path dir) throws Exception {
    // Answers start 12 s after a worker's call: the first run is killed once its jobs were dispatched, long before
    // the first answer could be written
    try (TestFleet fleet = TestFleet.start(2, SimulatorOptions.defaults().withFirstTokenDelayMs(12_000)
        .withTokensPerSecond(0), Map.of())) {
      Path in = dir.resolve("in.jsonl");
      Path out = dir.resolve("out.jsonl");
      List<String> lines = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        lines.add(chatLine(i));
      }
      Files.write(in, lines, StandardCharsets.UTF_8);
      String bootstrap = fleet.config.kafka().bootstrapServers();
      String assignments = fleet.config.topics().assignments();

      Process first = batchProcess(fleet, in, out, dir.resolve("first.err"));
      List<String> dispatched;
      try {
        dispatched = jobIds(TestFleet.readUntil(bootstrap, assignments, Duration.ofSeconds(60),
            all -> all.size() >= 6));
      } finally {
        first.destroyForcibly(); // SIGKILL: no shutdown hook, no last write
        first.waitFor();
      }
      assertThat(dispatched).as("the killed run's jobs, dispatched: %s", Files.readString(dir.resolve("first.err")))
          .hasSize(6).doesNotHaveDuplicates();
      assertThat(Files.readAllLines(out, StandardCharsets.UTF_8)).as("killed before its first output line").isEmpty();
      assertThat(dir.resolve("out.jsonl.run")).exists();

      // The same command again: the same job ids, so the killed run's jobs answer it and nothing runs twice
      StringWriter err = new StringWriter();
      assertThat(run(fleet, in, out, err)).as(err.toString()).isZero();
      Map<String, JsonNode> byId = read(out);
      assertThat(byId).hasSize(6);
      for (int i = 0; i < 6; i++) {
        JsonNode n = byId.get("req-" + i);
        assertThat(n.path("response").path("status_code").asInt()).as("req-%d", i).isEqualTo(200);
        assertThat(n.path("id").asText().substring("batch_req_".length())).as("req-%d", i).isIn(dispatched);
      }
      assertThat(jobIds(TestFleet.readUntil(bootstrap, assignments, Duration.ofSeconds(3), all -> false)))
          .as("each job dispatched once, none under a new id").containsExactlyInAnyOrderElementsOf(dispatched);
      Map<String, List<Reply>> replies = fleet.awaitResults(6, Duration.ofSeconds(3));
      assertThat(replies.keySet()).containsExactlyInAnyOrderElementsOf(dispatched);
      replies.forEach((id, r) -> assertThat(TestFleet.results(r)).as(id).hasSize(1));
      assertThat(dir.resolve("out.jsonl.run")).as("removed once every line is written").doesNotExist();
      assertThat(err.toString()).contains("resuming the run of " + out + ": 0 lines already answered");
    }
  }

  /** The job ids of assignment records. */
  private static List<String> jobIds(List<ConsumerRecord<String, byte[]>> records) {
    return records.stream().map(r -> Json.read(r.value(), Assignment.class).job().jobId()).toList();
  }

  /** {@code promptfleet batch} in a JVM of its own, to be killed. */
  private static Process batchProcess(TestFleet fleet, Path in, Path out, Path stderr) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-XX:+UseSerialGC", "-cp", cp,
        Main.class.getName()));
    cmd.addAll(args(fleet, in, out));
    cmd.addAll(List.of("--timeout", "2m"));
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(stderr.toFile()).start();
  }

  /** An input line asking the simulator for 4 tokens, custom_id {@code req-i}. */
  private static String chatLine(int i) {
    return "{\"custom_id\":\"req-" + i + "\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\","
        + "\"body\":{\"model\":\"sim\",\"max_tokens\":4,\"messages\":[{\"role\":\"user\",\"content\":\"q" + i
        + "\"}]}}";
  }

  private static int run(TestFleet fleet, Path in, Path out, String... more) {
    return run(fleet, in, out, new StringWriter(), more);
  }

  private static int run(TestFleet fleet, Path in, Path out, StringWriter err, String... more) {
    List<String> args = args(fleet, in, out);
    args.addAll(List.of(more));
    if (!args.contains("--timeout")) {
      args.addAll(List.of("--timeout", "2m"));
    }
    int code = new picocli.CommandLine(new Main()).setErr(new PrintWriter(err, true))
        .execute(args.toArray(String[]::new));
    assertProgressAddsUp(err.toString());
    return code;
  }

  private static List<String> args(TestFleet fleet, Path in, Path out) {
    return new ArrayList<>(List.of("batch", in.toString(), "-o", out.toString(),
        "-b", fleet.config.kafka().bootstrapServers(), "--reply-to", fleet.replies(),
        "--priority", "low", "--jobs-prefix", fleet.prefix + ".jobs."));
  }

  /** No progress line shows lines as neither done nor in flight while every line sent is one of them. */
  private static void assertProgressAddsUp(String err) {
    Matcher m = Pattern.compile("(\\d+)/(\\d+) done, \\d+ failed, (\\d+) in flight").matcher(err);
    while (m.find()) {
      if (m.group(3).equals("0")) {
        assertThat(m.group(1)).as("a progress line with nothing in flight: %s", m.group()).isEqualTo(m.group(2));
      }
    }
  }

  /** The sum of every series of a Prometheus counter on the fleet's dispatcher. */
  private static double counter(TestFleet fleet, String name) throws Exception {
    String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + fleet.dispatcher.httpPort() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    double sum = 0;
    Matcher m = Pattern.compile("(?m)^" + name + "(\\{[^}]*})? ([0-9.eE+-]+)$").matcher(body);
    while (m.find()) {
      sum += Double.parseDouble(m.group(2));
    }
    return sum;
  }

  private static Map<String, JsonNode> read(Path out) throws IOException {
    return Files.readAllLines(out, StandardCharsets.UTF_8).stream().map(l -> {
      try {
        return Json.mapper().readTree(l);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }).collect(Collectors.toMap(n -> n.get("custom_id").asText(), Function.identity()));
  }
}
