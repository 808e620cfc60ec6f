package io.promptfleet.common.job;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The heartbeat's {@code successor_protocol} on the wire, read by newer and older readers alike. */
class FleetEventHeartbeatTest {
  private static final Instant AT = Instant.parse("2026-12-01T10:00:00Z");

  @Test
  void shouldCarryTheSuccessorProtocolAsSnakeCaseAndReadItBack() throws Exception {
    FleetEvent beat = FleetEvent.heartbeat(AT, "w1", 8, 5, null, SuccessorProtocol.CURRENT);
    byte[] json = Json.bytes(beat);

    JsonNode tree = Json.mapper().readTree(json);
    assertThat(tree.get("successor_protocol").asInt()).isEqualTo(2);
    assertThat(Json.read(json, FleetEvent.class)).isEqualTo(beat);
  }

  @Test
  void shouldReadAHeartbeatWithoutTheFieldAsAWorkerThatDoesNotKnowSuccessors() {
    String old = "{\"type\":\"worker_heartbeat\",\"at\":\"2026-12-01T10:00:00Z\",\"worker_id\":\"w0\","
        + "\"slots_total\":8,\"slots_free\":8}";
    FleetEvent e = Json.read(old.getBytes(StandardCharsets.UTF_8), FleetEvent.class);
    assertThat(e.successorProtocol()).isNull();
    assertThat(Json.string(FleetEvent.heartbeat(AT, "w0", 8, 8))).doesNotContain("successor_protocol");
  }

  @Test
  void shouldLetAReaderIgnoreFieldsItDoesNotKnow() {
    String newer = "{\"type\":\"worker_heartbeat\",\"at\":\"2026-12-01T10:00:00Z\",\"worker_id\":\"w3\","
        + "\"slots_total\":8,\"slots_free\":8,\"successor_protocol\":3,\"some_later_field\":{\"x\":1}}";
    FleetEvent e = Json.read(newer.getBytes(StandardCharsets.UTF_8), FleetEvent.class);
    assertThat(e.successorProtocol()).isEqualTo(3);
    assertThat(e.workerId()).isEqualTo("w3");
  }
}
