package io.promptfleet.dispatcher;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.dispatcher.testing.Fixtures;
import org.junit.jupiter.api.Test;

class StandbyWarmupTest {

  @Test
  void shouldRunSyntheticJobsThroughTheDispatchPathOfScratchCoresAndWriteTheirRecordsNowhere() {
    FleetConfig config = Fixtures.config("""
        keys:
          k1: {provider: p, secret_env: PF_WARMUP_KEY, max_concurrency: 20}
        models:
          sim:
            routes:
              - {provider: p, model: sim}
          other:
            routes:
              - {provider: p, model: other}
        """);
    long t0 = System.nanoTime();
    long records = new StandbyWarmup(config, "w").run(3, 200);
    System.out.println("warm-up of 600 jobs: " + (System.nanoTime() - t0) / 1_000_000 + " ms");
    // Each scratch core: 20 assignments (the key's concurrency), its first transaction's snapshot part and job-id
    // journal record, and nothing for the 180 jobs that wait; three cores.
    assertThat(records).isEqualTo(3 * (20 + 2));
  }
}
