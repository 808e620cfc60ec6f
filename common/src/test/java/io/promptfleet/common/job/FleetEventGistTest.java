package io.promptfleet.common.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class FleetEventGistTest {
  private static final Instant AT = Instant.parse("2026-11-30T17:00:00.123Z");

  @Property
  void shouldReadBackEveryFieldAWorkerUsesFromTheHeader(@ForAll("types") FleetEvent.Type type,
      @ForAll("outcomes") LeaseOutcome outcome, @ForAll @LongRange(min = 0, max = 4_102_444_800_000L) long atMs,
      @ForAll("ids") String workerId, @ForAll("leaseIds") String leaseId) {
    FleetEventGist gist = new FleetEventGist(type, atMs, workerId, leaseId, outcome);

    assertThat(FleetEventGist.parse(gist.bytes())).isEqualTo(gist);
  }

  @Provide
  Arbitrary<FleetEvent.Type> types() {
    return Arbitraries.of(FleetEvent.Type.class);
  }

  @Provide
  Arbitrary<LeaseOutcome> outcomes() {
    return Arbitraries.of(LeaseOutcome.class).injectNull(0.3);
  }

  @Provide
  Arbitrary<String> ids() {
    // any text but unpaired surrogates (no String of UTF-8 has them); pairs are in the example test below
    return Arbitraries.strings().withCharRange('\u0000', '\uD7FF').withCharRange('\uE000', '\uFFFF')
        .ofMaxLength(300);
  }

  @Provide
  Arbitrary<String> leaseIds() {
    return ids().injectNull(0.3);
  }

  @Test
  void shouldCarryWhatTheEventSaysOfItsTypeTimeWorkerLeaseAndOutcome() {
    FleetEvent released = FleetEvent.leaseReleased("lease-ü-1", "job-1", "k1", "p/m", LeaseOutcome.HANDED_BACK)
        .usage(new Usage(10, 20, 30)).by("wörker-😀-7", AT);

    FleetEventGist gist = FleetEventGist.parse(FleetEventGist.of(released).bytes());

    assertThat(gist).isEqualTo(new FleetEventGist(FleetEvent.Type.LEASE_RELEASED, AT.toEpochMilli(), "wörker-😀-7",
        "lease-ü-1", LeaseOutcome.HANDED_BACK));
    assertThat(FleetEventGist.parse(FleetEventGist.of(FleetEvent.heartbeat(AT, "w", 8, 3)).bytes()))
        .isEqualTo(new FleetEventGist(FleetEvent.Type.WORKER_HEARTBEAT, AT.toEpochMilli(), "w", null, null));
  }

  @Test
  void shouldReadATypeItDoesNotKnowAsNoneButRefuseAnUnknownOutcome() {
    byte[] v = new FleetEventGist(FleetEvent.Type.LEASE_RELEASED, 1, "w", "L", LeaseOutcome.SUCCEEDED).bytes();
    byte[] laterType = v.clone();
    laterType[1] = 9;
    byte[] laterOutcome = v.clone();
    laterOutcome[2] = 9;

    assertThat(FleetEventGist.parse(laterType).type()).isNull();
    assertThatThrownBy(() -> FleetEventGist.parse(laterOutcome)).hasMessageContaining("outcome 9");
  }

  @Test
  void shouldRefuseAnotherVersionAValueCutShortAndAnEventWithoutWorkerOrTime() {
    byte[] v = new FleetEventGist(FleetEvent.Type.LEASE_STARTED, 1, "worker", "lease", null).bytes();
    byte[] v2 = v.clone();
    v2[0] = 2;

    assertThatThrownBy(() -> FleetEventGist.parse(v2)).hasMessageContaining("version 2");
    assertThatThrownBy(() -> FleetEventGist.parse(java.util.Arrays.copyOf(v, v.length - 1)))
        .hasMessageContaining("cut short");
    assertThatThrownBy(() -> FleetEventGist.parse(new byte[3])).hasMessageContaining("at least");
    assertThatThrownBy(() -> FleetEventGist.of(FleetEvent.heartbeat(null, "w", 1, 1)))
        .hasMessageContaining("without a time");
    assertThatThrownBy(() -> FleetEventGist.of(FleetEvent.heartbeat(AT, null, 1, 1)))
        .hasMessageContaining("worker id");
  }
}
