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
    return render(List.of(), connections);
  }

  private static String render(List<StatusSnapshot.KeyStatus> keys, List<ProviderConnectionStatus> connections)
      throws Exception {
    StatusSnapshot s = new StatusSnapshot(Instant.parse("2026-01-01T00:00:00Z"),
        new StatusSnapshot.DispatcherInfo("d1", true), Map.of("normal", 0), keys, List.of(), List.of(),
        connections, new StatusSnapshot.Totals(0, 0, 0, 0));
    return StatusCommand.render(Json.mapper().readTree(Json.bytes(s)));
  }

  @Test
  void shouldSayWhyAKeyGetsNoJobs() throws Exception {
    String text = render(List.of(
        new StatusSnapshot.KeyStatus("ok-key", "p", 1, 4, 10, 600, 100, 10_000, 0, 0, null),
        new StatusSnapshot.KeyStatus("cool-key", "p", 0, 4, 10, 600, 100, 10_000, 3_000, 0, null),
        new StatusSnapshot.KeyStatus("spent-key", "p", 0, 4, 10, 600, 100, 10_000, 0, 42_000, null),
        new StatusSnapshot.KeyStatus("bad-key", "p", 0, 4, 10, 600, 100, 10_000, 0, 0, "auth or quota error")),
        List.of());

    assertThat(text).containsPattern("ok-key .* ok\\n")
        .containsPattern("cool-key .* cooling 3 s\\n")
        .containsPattern("spent-key .* provider budget used up, 42 s\\n")
        .containsPattern("bad-key .* disabled: auth or quota error\\n");
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
