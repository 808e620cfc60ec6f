package io.promptfleet.common.codec;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.BatchPolicy;
import io.promptfleet.common.job.Job;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** A job's {@code batch} field: allow or never (the default), the fleet's own, never sent upstream. */
class BatchJobParserTest {
  private final JobParser parser = new JobParser(10_000);

  private JobParser.Parsed parse(String extra) {
    return parser.parse(("{\"job_id\":\"j\",\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"
        + extra + "}").getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void shouldLetAJobAllowBatchingAndKeepTheFieldFromTheProvider() {
    Job job = ((JobParser.Accepted) parse(",\"batch\":\"allow\"")).job();

    assertThat(job.batch()).isEqualTo(BatchPolicy.ALLOW);
    assertThat(job.batchAllowed()).isTrue();
    assertThat(job.params()).doesNotContainKey("batch");
    assertThat(Json.string(job)).contains("\"batch\":\"allow\"");
    assertThat(Json.read(Json.bytes(job), Job.class)).isEqualTo(job);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", ",\"batch\":\"never\"", ",\"batch\":null"})
  void shouldRunAJobLiveUnlessItAllowsBatchingAndWriteItAsBefore(String extra) {
    Job job = ((JobParser.Accepted) parse(extra)).job();

    assertThat(job.batch()).isNull();
    assertThat(job.batchAllowed()).isFalse();
    assertThat(Json.string(job)).doesNotContain("batch");
  }

  @Test
  void shouldAllowBatchingAnEmbeddingsJob() {
    var p = parser.parse("{\"job_id\":\"e\",\"model\":\"m\",\"endpoint\":\"/v1/embeddings\",\"input\":\"x\",\"batch\":\"allow\"}"
        .getBytes(StandardCharsets.UTF_8));

    assertThat(((JobParser.Accepted) p).job().batchAllowed()).isTrue();
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      ",\"batch\":\"yes\" | batch must be \"allow\" (the job may wait for a provider's batch API) or \"never\"",
      ",\"batch\":true | batch must be \"allow\"",
      ",\"batch\":\"ALLOW\" | got \"ALLOW\"",
      ",\"service_tier\":\"batch\" | service_tier \"batch\" is not a live service tier: set \"batch\": \"allow\""})
  void shouldRejectABadBatchValueNamingTheField(String extra, String message) {
    var p = parse(extra);

    assertThat(p).isInstanceOf(JobParser.Rejection.class);
    assertThat(((JobParser.Rejection) p).reason()).contains(message);
    assertThat(((JobParser.Rejection) p).jobId()).isEqualTo("j");
  }

  @Test
  void shouldPassOtherServiceTiersThrough() {
    Job job = ((JobParser.Accepted) parse(",\"service_tier\":\"flex\"")).job();

    assertThat(job.params().get("service_tier").asText()).isEqualTo("flex");
  }
}
