package io.promptfleet.dispatcher.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.config.PrioritySettings;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Choice;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.assertj.core.data.Offset;

/** The fair share among tenants of one (group, lane), over random weights, backlogs and arrivals. */
class ReadyQueuesProperties {
  /** An item: its tenant, its sequence number within the tenant, when it became ready. */
  record Job(String tenant, int seq, long readyAt) {}

  private static final List<String> TENANTS = List.of("t0", "t1", "t2", "t3");

  private static ReadyQueues<Job> queues(long agingMs, Map<String, Integer> weights) {
    return new ReadyQueues<>(new PrioritySettings(16, 8, 3, 1, agingMs), Job::readyAt, Job::tenant,
        t -> weights.getOrDefault(t, 1));
  }

  /**
   * While every tenant stays backlogged, each gets its weight's share of the dispatches, within 10 % (stride
   * scheduling is off by less than one dispatch per tenant), and each tenant's jobs go in order.
   */
  @Property(tries = 200)
  void backloggedTenantsShareByWeight(@ForAll @Size(min = 1, max = 4) List<@IntRange(min = 1, max = 10) Integer> ws,
      @ForAll @IntRange(min = 100, max = 2_000) int dispatches, @ForAll long seed) {
    Map<String, Integer> weights = new HashMap<>();
    for (int i = 0; i < ws.size(); i++) {
      weights.put(TENANTS.get(i), ws.get(i));
    }
    ReadyQueues<Job> q = queues(0, weights);
    Random r = new Random(seed);
    Map<String, Integer> seq = new HashMap<>();
    for (int i = 0; i < ws.size() * (dispatches + 1); i++) { // interleaved arrivals, every backlog > dispatches
      String t = TENANTS.get(r.nextInt(ws.size()));
      if (seq.getOrDefault(t, 0) <= dispatches) {
        q.add("m", Lane.NORMAL, new Job(t, seq.merge(t, 1, Integer::sum) - 1, r.nextInt(1_000)));
      }
    }
    for (String t : weights.keySet()) {
      while (seq.getOrDefault(t, 0) <= dispatches) {
        q.add("m", Lane.NORMAL, new Job(t, seq.merge(t, 1, Integer::sum) - 1, 1_000));
      }
    }
    Map<String, Integer> taken = new HashMap<>();
    Map<String, Integer> last = new HashMap<>();
    for (int i = 0; i < dispatches; i++) {
      Choice<Job> c = q.next(2_000, g -> false);
      q.take(c);
      String t = c.item().tenant();
      taken.merge(t, 1, Integer::sum);
      assertThat(last.getOrDefault(t, -1)).as("FIFO within %s", t).isLessThan(c.item().seq());
      last.put(t, c.item().seq());
    }
    double sum = ws.stream().mapToInt(Integer::intValue).sum();
    for (var e : weights.entrySet()) {
      double expected = dispatches * e.getValue() / sum;
      assertThat((double) taken.getOrDefault(e.getKey(), 0)).as("%s of %s dispatches, weights %s", e.getKey(),
          dispatches, weights).isCloseTo(expected, Offset.offset(Math.max(1.0, expected * 0.1)));
    }
  }

  /**
   * Work conservation: whatever the weights and however the tenants come and go, a dispatch happens whenever
   * something is queued, a tenant alone gets every dispatch, and nothing is lost or reordered within a tenant.
   */
  @Property(tries = 200)
  void anyTenantWithWorkIsServedAndNothingIsLost(@ForAll @Size(min = 1, max = 4) List<@IntRange(min = 1, max = 10)
      Integer> ws, @ForAll @IntRange(min = 1, max = 300) int steps, @ForAll long seed) {
    Map<String, Integer> weights = new HashMap<>();
    for (int i = 0; i < ws.size(); i++) {
      weights.put(TENANTS.get(i), ws.get(i));
    }
    ReadyQueues<Job> q = queues(0, weights);
    Random r = new Random(seed);
    Map<String, Integer> added = new HashMap<>();
    Map<String, Integer> last = new HashMap<>();
    int queued = 0;
    for (int i = 0; i < steps; i++) {
      if (r.nextInt(3) > 0) { // a burst of one tenant
        String t = TENANTS.get(r.nextInt(ws.size()));
        for (int n = r.nextInt(5); n >= 0; n--) {
          q.add("m", Lane.HIGH, new Job(t, added.merge(t, 1, Integer::sum) - 1, i));
          queued++;
        }
      }
      for (int n = r.nextInt(4); n > 0; n--) {
        Choice<Job> c = q.next(i, g -> false);
        if (queued == 0) {
          assertThat(c).isNull();
          break;
        }
        assertThat(c).as("something is queued").isNotNull();
        q.take(c);
        queued--;
        String t = c.item().tenant();
        assertThat(last.getOrDefault(t, -1)).as("FIFO within %s", t).isEqualTo(c.item().seq() - 1);
        last.put(t, c.item().seq());
      }
      assertThat(q.size()).isEqualTo(queued);
      assertThat(q.size("m", Lane.HIGH)).isEqualTo(queued);
    }
  }
}
