package io.promptfleet.launcher;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The run key kept beside a batch's output: written whole, read back, removed when the run completed. */
class RunKeyFileTest {

  @Test
  void shouldKeepTheKeyBesideTheOutputUntilTheRunCompleted(@TempDir Path dir) throws Exception {
    Path out = Files.createFile(dir.resolve("results.jsonl"));
    RunKeyFile file = new RunKeyFile(out);

    assertThat(file.path()).isEqualTo(dir.resolve("results.jsonl.run"));
    assertThat(file.read()).isNull();
    file.write("00ff00ff00ff00ff", dir.resolve("in.jsonl"));
    file.write("0123456789abcdef", dir.resolve("in.jsonl")); // replaced whole
    assertThat(file.read()).isEqualTo("0123456789abcdef");
    JsonNode n = Json.mapper().readTree(Files.readString(file.path()));
    assertThat(n.path("input").asText()).isEqualTo(dir.resolve("in.jsonl").toAbsolutePath().toString());
    try (var files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("results.jsonl",
          "results.jsonl.run"); // no temporary file left
    }

    file.completed(out);

    assertThat(file.read()).isNull();
    assertThat(out).exists();
  }

  @Test
  void shouldRefuseAFileWithoutAKeyNamingIt(@TempDir Path dir) throws Exception {
    Path out = Files.createFile(dir.resolve("results.jsonl"));
    RunKeyFile file = new RunKeyFile(out);
    Files.writeString(file.path(), "{\"run_key\":\"not hex\"}");

    assertThatThrownBy(file::read).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(file.path().toString()).hasMessageContaining("Delete it (and the output)");
    Files.writeString(file.path(), "garbage");
    assertThatThrownBy(file::read).isInstanceOf(IllegalArgumentException.class);
  }
}
