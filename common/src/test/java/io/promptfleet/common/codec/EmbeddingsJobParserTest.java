package io.promptfleet.common.codec;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.job.Endpoint;
import io.promptfleet.common.job.Job;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Jobs that name the {@code /v1/embeddings} endpoint, and chat jobs beside them. */
class EmbeddingsJobParserTest {
  private final JobParser parser = new JobParser(100_000);

  private JobParser.Parsed parse(String json) {
    return parser.parse(json.getBytes(StandardCharsets.UTF_8));
  }

  private String reason(String json) {
    JobParser.Parsed p = parse(json);
    assertThat(p).as(json).isInstanceOf(JobParser.Rejection.class);
    return ((JobParser.Rejection) p).reason();
  }

  @ParameterizedTest
  @ValueSource(strings = {"\"The food was delicious\"", "[\"a\",\"b\"]", "[1212, 318, 257]", "[[1212], [318, 257]]"})
  void shouldAcceptEveryInputShapeOpenAiDocuments(String input) throws Exception {
    JobParser.Parsed p = parse("{\"job_id\":\"e\",\"model\":\"emb\",\"endpoint\":\"/v1/embeddings\",\"input\":" + input
        + ",\"dimensions\":256,\"encoding_format\":\"base64\",\"user\":\"u-1\"}");

    assertThat(p).isInstanceOf(JobParser.Accepted.class);
    Job job = ((JobParser.Accepted) p).job();
    assertThat(job.isEmbeddings()).isTrue();
    assertThat(job.endpoint()).isEqualTo(Endpoint.EMBEDDINGS);
    assertThat(job.input()).isEqualTo(Json.mapper().readTree(input));
    assertThat(job.messages()).isEmpty();
    assertThat(job.params()).as("passed through; the fleet's own fields stay home")
        .containsOnlyKeys("dimensions", "encoding_format", "user");
  }

  @Test
  void shouldReadAJobWithoutEndpointOrWithTheChatPathAsAChatJob() {
    for (String endpoint : new String[] {"", ",\"endpoint\":\"/v1/chat/completions\""}) {
      Job job = ((JobParser.Accepted) parse("{\"job_id\":\"c\",\"model\":\"m\",\"messages\":[{\"role\":\"user\","
          + "\"content\":\"hi\"}]" + endpoint + "}")).job();
      assertThat(job.endpoint()).isEqualTo(Endpoint.CHAT_COMPLETIONS);
      assertThat(job.isEmbeddings()).isFalse();
      assertThat(job.params()).isEmpty();
    }
  }

  @Test
  void shouldRejectAnEndpointTheFleetDoesNotServeNamingIt() {
    String why = reason("{\"job_id\":\"c\",\"model\":\"m\",\"endpoint\":\"/v1/completions\",\"prompt\":\"x\"}");
    assertThat(why).contains("endpoint \"/v1/completions\" is not served")
        .contains("[/v1/chat/completions, /v1/embeddings]");
    assertThat(((JobParser.Rejection) parse("{\"job_id\":\"c\",\"model\":\"m\",\"endpoint\":\"https://x\"}")).jobId())
        .isEqualTo("c");
  }

  @Test
  void shouldRequireInputAndRefuseChatFieldsInAnEmbeddingsJob() {
    assertThat(reason("{\"job_id\":\"e\",\"model\":\"emb\",\"endpoint\":\"/v1/embeddings\"}"))
        .startsWith("input is missing");
    String why = reason("{\"job_id\":\"e\",\"model\":\"emb\",\"endpoint\":\"/v1/embeddings\",\"input\":\"x\","
        + "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":true,\"max_tokens\":5}");
    assertThat(why).contains("messages is not allowed in an /v1/embeddings job")
        .contains("stream is not allowed").contains("max_tokens is not allowed");
  }

  @Test
  void shouldNameTheBadEntryOfAnInput() {
    String head = "{\"job_id\":\"e\",\"model\":\"emb\",\"endpoint\":\"/v1/embeddings\",\"input\":";
    assertThat(reason(head + "\"\"}")).isEqualTo("input must not be an empty string");
    assertThat(reason(head + "[]}")).startsWith("input must be a non-empty string or a non-empty array");
    assertThat(reason(head + "[\"a\",\"\"]}")).isEqualTo("input[1] must be a non-empty string, like input[0]");
    assertThat(reason(head + "[1,-2]}")).startsWith("input[1] must be a token id");
    assertThat(reason(head + "[[1],[]]}")).startsWith("input[1] must be a non-empty array of token ids");
    assertThat(reason(head + "[{\"a\":1}]}")).startsWith("input[0] must be a string, a token id");
    assertThat(reason(head + "\"x\",\"dimensions\":0}")).isEqualTo("dimensions must be a positive integer");
    assertThat(reason(head + "\"x\",\"encoding_format\":\"int8\"}"))
        .isEqualTo("encoding_format must be float or base64");
    StringBuilder many = new StringBuilder("[");
    for (int i = 0; i <= EmbeddingsFields.MAX_INPUTS; i++) {
      many.append(i == 0 ? "" : ",").append("\"w\"");
    }
    assertThat(reason(head + many + "]}")).startsWith("input has 2049 entries, more than 2048");
  }

  @Test
  void shouldStillRejectAChatJobWithoutMessagesOrWithInput() {
    assertThat(reason("{\"job_id\":\"c\",\"model\":\"m\"}")).isEqualTo("messages is missing");
    assertThat(reason("{\"job_id\":\"c\",\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
        + "\"input\":\"x\"}")).startsWith("input is a field of /v1/embeddings jobs");
  }

  @Test
  void shouldCarryTheEndpointAndInputThroughTheAssignmentCodec() {
    Job job = ((JobParser.Accepted) parse("{\"job_id\":\"e\",\"model\":\"emb\",\"endpoint\":\"/v1/embeddings\","
        + "\"input\":[\"a\"]}")).job();
    String wire = Json.string(job);
    assertThat(wire).contains("\"endpoint\":\"/v1/embeddings\"").contains("\"input\":[\"a\"]")
        .doesNotContain("\"embeddings\"");
    assertThat(Json.read(wire.getBytes(StandardCharsets.UTF_8), Job.class)).isEqualTo(job);
    Job chat = Json.read("{\"job_id\":\"c\",\"model\":\"m\",\"messages\":[]}".getBytes(StandardCharsets.UTF_8),
        Job.class);
    assertThat(chat.endpoint()).as("a record written before endpoints").isEqualTo(Endpoint.CHAT_COMPLETIONS);
  }
}
