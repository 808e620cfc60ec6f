package io.promptfleet.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.codec.Json;
import io.promptfleet.dispatcher.status.StatusSnapshot;
import io.promptfleet.dispatcher.status.StatusSnapshot.ProviderConnectionStatus;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code promptfleet status}'s text, read from the JSON the dispatcher serves. */
class StatusCommandTest {

  private static String render(List<ProviderConnectionStatus> connections) throws Exception {
    StatusSnapshot s = new StatusSnapshot(Instant.parse("2026-01-01T00:00:00Z"),
        new StatusSnapshot.DispatcherInfo("d1", true), Map.of("normal", 0), List.of(), List.of(), List.of(),
        connections, new StatusSnapshot.Totals(0, 0, 0, 0));
    return StatusCommand.render(Json.mapper().readTree(Json.bytes(s)));
  }

  @Test
  void shouldPrintEachProvidersConnectionsSummedOverTheWorkers() throws Exception {
    String text = render(List.of(new ProviderConnectionStatus("openai", 3, 12, 12, 340, 28.3, 4, 52, 10.5, 41.25,
        3, 0.5, 7, 0)));

    assertThat(text).contains("PROVIDER              OPEN  HTTP/2  STREAMS  WAITING  CONNECTS/S  CONNECT MS  FAILED"
        + "  OVERLOADED\n"
        + "openai                  12      12      340        4        10.5        41.3       3           7\n");
  }

  @Test
  void shouldLeaveTheTableOutWhenNoWorkerReportsConnections() throws Exception {
    assertThat(render(List.of())).doesNotContain("PROVIDER");
  }
}
