package io.promptfleet.worker.poll;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.worker.poll.HeldBatch.Step;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.apache.kafka.clients.consumer.AcknowledgeType;

/**
 * Any interleaving of polls, acknowledgements, renewals, slow re-polls and time keeps the share consumer's batch
 * discipline: nothing but RENEW for a record that is out for renewal, one final acknowledgement per record, never
 * one for a lost record, new work only with an empty batch. jqwik prints the seed of a failing run.
 */
class HeldBatchProperties {

  @Property(tries = 500)
  void shouldKeepTheBatchDisciplineForAnyInterleaving(
      @ForAll @Size(min = 50, max = 300) List<@IntRange(min = 0, max = 100_000) Integer> ops) {
    new Run().play(ops);
  }

  /** One simulated lane: the batch under test, a consumer that checks every order, a handler, a clock. */
  private static final class Run {
    final Set<Long> out = new HashSet<>();
    final Map<Long, AcknowledgeType> finals = new HashMap<>();
    final Set<Long> lost = new HashSet<>();
    final List<Long> acquired = new ArrayList<>();
    final Set<Long> handled = new HashSet<>();
    final HeldBatch<Long> batch = new HeldBatch<>(k -> k, this::order, Duration.ofMillis(1_000),
        Duration.ofSeconds(5));
    long now = 1_000_000;
    long nextOffset;

    void order(Long r, AcknowledgeType type) {
      assertThat(lost).as("no order for a lost record").doesNotContain(r);
      assertThat(finals).as("one final acknowledgement per record").doesNotContainKey(r);
      if (type == AcknowledgeType.RENEW) {
        out.add(r);
      } else {
        assertThat(out).as("the consumer does not hold a record that is out for renewal").doesNotContain(r);
        finals.put(r, type);
      }
    }

    void play(List<Integer> ops) {
      for (int op : ops) {
        int arg = op / 8;
        switch (op % 8) {
          case 0, 1 -> now += 100 * (1 + arg % 15);
          case 2 -> handlerAcknowledges(arg);
          case 3, 4 -> step(arg, false);
          default -> step(arg, true);
        }
        checkCounts();
      }
      // the streams all end, the broker returns every renewed record: the batch empties
      for (long r : acquired) {
        if (!handled.contains(r) && !lost.contains(r)) {
          handled.add(r);
          batch.acknowledge(r, AcknowledgeType.ACCEPT);
        }
      }
      for (int i = 0; i < 10 && !batch.isEmpty(); i++) {
        step(-1, false);
      }
      assertThat(batch.isEmpty()).isTrue();
      for (long r : acquired) {
        assertThat(finals.containsKey(r) ^ lost.contains(r)).as("record %d: acknowledged once or lost", r).isTrue();
      }
    }

    void handlerAcknowledges(int arg) {
      List<Long> running = acquired.stream().filter(r -> !handled.contains(r) && !lost.contains(r)).toList();
      if (!running.isEmpty()) {
        long r = running.get(arg % running.size());
        handled.add(r);
        batch.acknowledge(r, arg % 7 == 0 ? AcknowledgeType.RELEASE : AcknowledgeType.ACCEPT);
      }
    }

    /** One turn of the lane loop; {@code slow}: a re-poll brings nothing back. {@code returned < 0}: all back. */
    void step(int returned, boolean slow) {
      Step s = batch.next(now, true);
      if (s == Step.POLL) {
        assertThat(batch.size()).as("new work only with an empty batch").isZero();
        List<Long> fresh = new ArrayList<>();
        for (int i = 0; i <= Math.max(0, returned) % 4; i++) {
          fresh.add(nextOffset++);
        }
        assertThat(batch.polled(fresh, now)).containsExactlyElementsOf(fresh);
        acquired.addAll(fresh);
      } else if (s == Step.RENEW) {
        batch.renewAll(now);
      } else if (s == Step.REPOLL) {
        List<Long> back = new ArrayList<>();
        if (!slow) {
          int i = 0;
          for (long r : out) {
            if (returned < 0 || ((returned >> (i++ % 16)) & 1) == 1) {
              back.add(r);
            }
          }
        }
        back.forEach(out::remove);
        assertThat(batch.polled(back, now)).as("a re-poll brings no new work").isEmpty();
        List<Long> gone = batch.lost(now);
        assertThat(out).as("only records out for renewal are lost").containsAll(gone);
        gone.forEach(out::remove);
        lost.addAll(gone);
        now += 100;
      }
    }

    void checkCounts() {
      long holding = acquired.stream().filter(r -> !finals.containsKey(r) && !lost.contains(r)).count();
      assertThat(batch.size()).isEqualTo((int) holding);
    }
  }
}
