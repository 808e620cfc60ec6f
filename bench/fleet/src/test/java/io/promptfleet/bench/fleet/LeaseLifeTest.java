package io.promptfleet.bench.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class LeaseLifeTest {
  private final LeaseLife life = new LeaseLife();

  /** A lease of job {@code job} run by {@code worker}: every time seen, its predecessor {@code after} (or none). */
  private void lease(String job, String after, String worker, long dispatched, long lastChunk, long result,
      long released, long firstChunk) {
    life.assigned(job, "lease-" + job, after == null ? null : "lease-" + after, dispatched, dispatched + 10);
    LeaseLife.Lease l = life.lease(job);
    l.startedMs = dispatched + 20;
    l.firstChunkMs = firstChunk;
    l.lastChunkMs = lastChunk;
    l.resultMs = result;
    l.releasedMs = released;
    l.releaseReadMs = released + 5;
    l.worker = worker;
  }

  @Test
  void shouldSplitASuccessorsHandOverIntoTheAcksThenALocalOrARemoteStart() {
    // Two predecessors, ending at 1,000 (last chunk) -> 1,012 (result) -> 1,023 (released) on w1.
    lease("a", null, "w1", 0, 1_000, 1_012, 1_023, 300);
    lease("b", null, "w1", 0, 1_000, 1_012, 1_023, 300);
    // Their successors: one on the same worker, starting 261 ms after the release; one on the other, 279.
    lease("c", "a", "w1", 100, 2_000, 2_010, 2_020, 1_023 + 261);
    lease("d", "b", "w2", 100, 2_000, 2_010, 2_020, 1_023 + 279);

    List<String> t = life.table(0, 1_000, 64, 60);

    assertThat(t).anyMatch(r -> r.startsWith("| successors (n=2 of 4 leases)") && r.endsWith("| 281.0 | 272 | 290 |"));
    assertThat(t).anyMatch(r -> r.startsWith("|   before it:") && r.endsWith("| 12.0 | 12 | 12 |"));
    assertThat(t).anyMatch(r -> r.startsWith("|   of it:") && r.endsWith("| 11.0 | 11 | 11 |"));
    assertThat(t).anyMatch(r -> r.startsWith("|   then, 1 on the predecessor's worker") && r.endsWith("| 261.0 | 261 | 261 |"));
    assertThat(t).anyMatch(r -> r.startsWith("|   or, 1 on another worker") && r.endsWith("| 279.0 | 279 | 279 |"));
  }
}
