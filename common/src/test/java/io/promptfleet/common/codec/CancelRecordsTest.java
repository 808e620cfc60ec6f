package io.promptfleet.common.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CancelRecordsTest {

  @ParameterizedTest(name = "key {0}, value {1} -> {2}")
  @CsvSource(delimiter = '|', nullValues = "NULL", value = {
      "j-1 | NULL | j-1",
      "j-1 | '' | j-1",
      "k | {\"job_id\":\"j-2\"} | j-2",
      "NULL | {\"job_id\":\"j-2\",\"reason\":\"user\"} | j-2",
      "k | \"j-3\" | j-3",
      "k | j-4 | j-4",
      "k | '  j-5  ' | j-5",
      "k | {\"id\":\"x\"} | NULL",
      "k | {\"job_id\":\"  \"} | NULL",
      "k | {\"job_id\":7} | NULL",
      "k | [\"j\"] | NULL",
      "k | 42 | NULL",
      "k | {not json | NULL",
      "NULL | NULL | NULL",
      "' ' | NULL | NULL",
  })
  void shouldReadACancelTheSameWayEverywhere(String key, String value, String expected) {
    byte[] bytes = value == null ? null : value.getBytes(StandardCharsets.UTF_8);
    assertThat(CancelRecords.jobId(key, bytes).orElse(null)).isEqualTo(expected);
  }

  @ParameterizedTest
  @CsvSource({"j-1", "a \"quoted\" id", "Zürich/🚀"})
  void shouldReadWhatItWrites(String jobId) {
    assertThat(CancelRecords.jobId(jobId, CancelRecords.value(jobId))).contains(jobId);
    assertThat(CancelRecords.jobId(null, CancelRecords.value(jobId))).contains(jobId);
  }

  @org.junit.jupiter.api.Test
  void shouldRefuseAnOversizedValue() {
    assertThat(CancelRecords.jobId("k", "x".repeat(5_000).getBytes(StandardCharsets.UTF_8))).isEmpty();
  }
}
