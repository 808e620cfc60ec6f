package io.promptfleet.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.ErrorCodes;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The run key of a batch's job ids: new for a fresh run, the output's (or its key file's) for a resumed one. */
class ResumePointTest {

  @Test
  void shouldGiveEveryFreshRunOfTheSameInputNewJobIds(@TempDir Path dir) throws Exception {
    Path in = dir.resolve("in.jsonl");
    Files.writeString(in, "{}\n");

    ResumePoint first = ResumePoint.of(dir.resolve("out-1.jsonl"), in);
    ResumePoint second = ResumePoint.of(dir.resolve("out-2.jsonl"), in);
    Path emptied = Files.createFile(dir.resolve("out-3.jsonl")); // emptied, or created by a run stopped at once
    ResumePoint third = ResumePoint.of(emptied, in);

    assertThat(first.resumed()).isFalse();
    assertThat(first.answered()).isEmpty();
    assertThat(List.of(first.runKey(), second.runKey(), third.runKey())).doesNotHaveDuplicates()
        .allMatch(k -> k.matches("[0-9a-f]{16}"));
    assertThat(BatchCommand.jobId(first.runKey(), "req-1")).isNotEqualTo(BatchCommand.jobId(second.runKey(), "req-1"));
  }

  @Test
  void shouldResumeWithTheKeyOfTheOutputsLines(@TempDir Path dir) throws Exception {
    Path in = dir.resolve("in.jsonl");
    Files.writeString(in, "{}\n");
    Path out = dir.resolve("out.jsonl");
    String key = ResumePoint.freshKey();
    Files.write(out, List.of(
        BatchCommand.errorLine(BatchCommand.jobId(key, "line-1"), "line-1", "invalid_request", "line 1 is not JSON"),
        BatchCommand.errorLine(BatchCommand.jobId(key, "req-2"), "req-2", ErrorCodes.FIELD_NOT_ALLOWED, "api_key"),
        "{\"id\":\"batch_req_batch-" + key + "-req-3\",\"custom_id\":\"req-3\",\"resp"), StandardCharsets.UTF_8);

    ResumePoint resume = ResumePoint.of(out, in);

    assertThat(resume.resumed()).isTrue();
    assertThat(resume.runKey()).isEqualTo(key);
    assertThat(resume.answered()).containsExactlyInAnyOrder("line-1", "req-2"); // req-3's line was cut: runs again
  }

  @Test
  void shouldResumeARunInterruptedBeforeItsFirstLineWithTheKeyItKept(@TempDir Path dir) throws Exception {
    Path in = dir.resolve("in.jsonl");
    Files.writeString(in, "{}\n");
    String key = ResumePoint.freshKey();
    Path empty = Files.createFile(dir.resolve("empty.jsonl")); // jobs produced, no line written
    new RunKeyFile(empty).write(key, in);
    Path cut = dir.resolve("cut.jsonl"); // its first line cut
    Files.writeString(cut, "{\"id\":\"batch_req_ba", StandardCharsets.UTF_8);
    new RunKeyFile(cut).write(key, in);

    ResumePoint fromEmpty = ResumePoint.of(empty, in);
    ResumePoint fromCut = ResumePoint.of(cut, in);

    assertThat(fromEmpty.resumed()).isTrue();
    assertThat(fromEmpty.runKey()).isEqualTo(key);
    assertThat(fromEmpty.answered()).isEmpty();
    assertThat(fromCut.resumed()).isTrue();
    assertThat(fromCut.runKey()).as("the kept key, not an earlier version's").isEqualTo(key);
    assertThat(fromCut.answered()).isEmpty();
  }

  @Test
  void shouldTakeTheOutputsKeyOverTheKeptOneAndIgnoreAKeptKeyWithoutItsOutput(@TempDir Path dir) throws Exception {
    Path in = dir.resolve("in.jsonl");
    Files.writeString(in, "{}\n");
    String lines = ResumePoint.freshKey();
    String kept = ResumePoint.freshKey();
    Path out = dir.resolve("out.jsonl");
    Files.write(out, List.of(BatchCommand.errorLine(BatchCommand.jobId(lines, "req-1"), "req-1", "invalid_request",
        "x")), StandardCharsets.UTF_8);
    new RunKeyFile(out).write(kept, in);
    Path deleted = dir.resolve("deleted.jsonl"); // the output deleted to run the input again; its key file left
    new RunKeyFile(deleted).write(kept, in);

    assertThat(ResumePoint.of(out, in).runKey()).isEqualTo(lines);
    ResumePoint again = ResumePoint.of(deleted, in);
    assertThat(again.resumed()).isFalse();
    assertThat(again.runKey()).isNotEqualTo(kept).matches("[0-9a-f]{16}");
  }

  @Test
  void shouldResumeAnOutputOfAnEarlierVersionWithItsKey(@TempDir Path dir) throws Exception {
    Path in = dir.resolve("in.jsonl");
    Files.writeString(in, "{}\n");
    String legacy = ResumePoint.legacyKey(in);
    Path withResults = dir.resolve("results.jsonl");
    Files.write(withResults, List.of("{\"id\":\"batch_req_req-0\",\"custom_id\":\"req-0\",\"response\":null,"
        + "\"error\":{\"code\":\"invalid_request\",\"message\":\"x\"}}", "{\"id\":\"batch_req_batch-" + legacy
        + "-req-1\",\"custom_id\":\"req-1\",\"response\":{\"status_code\":200},\"error\":null}"));
    Path errorsOnly = dir.resolve("errors.jsonl");
    Files.write(errorsOnly, List.of("{\"id\":\"batch_req_req-0\",\"custom_id\":\"req-0\",\"response\":null,"
        + "\"error\":{\"code\":\"invalid_request\",\"message\":\"x\"}}"));

    assertThat(legacy).matches("[0-9a-f]{12}");
    assertThat(ResumePoint.of(withResults, in).runKey()).isEqualTo(legacy);
    assertThat(ResumePoint.of(errorsOnly, in).runKey()).isEqualTo(legacy);
    assertThat(ResumePoint.of(errorsOnly, in).resumed()).isTrue();
  }

  @Test
  void shouldReadTheKeyOnlyFromABatchRequestId() {
    assertThat(ResumePoint.keyOf("batch_req_batch-0123abcd-req-1")).isEqualTo("0123abcd");
    assertThat(ResumePoint.keyOf("batch_req_batch-0123abcd-h" + "f".repeat(64))).isEqualTo("0123abcd");
    assertThat(ResumePoint.keyOf("batch_req_req-1")).isNull();
    assertThat(ResumePoint.keyOf("batch_req_batch-xyz-req-1")).isNull();
    assertThat(ResumePoint.keyOf("batch_req_batch--req-1")).isNull();
    assertThat(ResumePoint.keyOf("batch_req_batch-0123abcd")).isNull();
  }
}
