package io.promptfleet.dispatcher.offsets;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.apache.kafka.common.TopicPartition;

/** Records of a partition complete in any order; the committable offset never passes one still open. */
class OffsetTrackerProperties {
  private static final TopicPartition TP = new TopicPartition("t", 0);

  @Property(tries = 300)
  void shouldCommitOnlyTheContiguousPrefixOfHandledRecords(@ForAll long seed,
      @ForAll @IntRange(min = 1, max = 300) int records) {
    Random rnd = new Random(seed);
    OffsetTracker t = new OffsetTracker();
    long start = rnd.nextInt(1_000);
    List<Long> open = new ArrayList<>();
    TreeSet<Long> notDone = new TreeSet<>();
    long next = start;
    long lastCommitted = -1;
    while (next < start + records || !open.isEmpty()) {
      if (next < start + records && (open.isEmpty() || rnd.nextBoolean())) {
        next += rnd.nextInt(3) == 0 ? 2 : 1; // gaps: transaction markers
        long off = next - 1;
        t.read(TP, off);
        open.add(off);
        notDone.add(off);
      } else {
        Collections.shuffle(open, rnd);
        long off = open.remove(open.size() - 1);
        t.done(TP, off);
        notDone.remove(off);
      }
      var commit = t.toCommit();
      if (commit.containsKey(TP)) {
        long c = commit.get(TP).offset();
        assertThat(c).isGreaterThan(lastCommitted);
        if (!notDone.isEmpty()) {
          assertThat(c).as("never past an open record").isLessThanOrEqualTo(notDone.first());
        }
        t.markCommitted(commit);
        lastCommitted = c;
      }
    }
    assertThat(t.committable(TP)).as("all done: one past the last record").isEqualTo(next);
  }
}
