package io.promptfleet.dispatcher.offsets;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
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
        assertThat(c).as("moves forward; at the same offset only the handled ranges above it changed")
            .isGreaterThanOrEqualTo(lastCommitted);
        if (!notDone.isEmpty()) {
          assertThat(c).as("never past an open record").isLessThanOrEqualTo(notDone.first());
        }
        t.markCommitted(commit);
        lastCommitted = c;
      }
    }
    assertThat(t.committable(TP)).as("all done: one past the last record").isEqualTo(next);
  }

  /**
   * A successor (or this dispatcher after an abort) restores the last commit and reads the partition again from its
   * offset: exactly the records handled by then are skipped; everything handled after that commit (its transaction
   * never committed) and everything still open is handled again. Nothing is skipped that was not handled, nothing
   * handled is read as new.
   */
  @Property(tries = 300)
  void shouldSkipExactlyTheRecordsHandledAsOfTheLastCommitWhenReadAgain(@ForAll long seed,
      @ForAll @IntRange(min = 1, max = 300) int records, @ForAll @IntRange(min = 0, max = 3) int crashes) {
    Random rnd = new Random(seed);
    long start = rnd.nextInt(1_000);
    long end = start + records;
    OffsetTracker t = new OffsetTracker();
    TreeSet<Long> handled = new TreeSet<>(); // as of the last commit
    TreeSet<Long> handledNow = new TreeSet<>();
    List<Long> open = new ArrayList<>();
    OffsetAndMetadata last = null;
    long next = start;
    int crashesLeft = crashes;
    for (int step = 0; step < records * 4 && (next < end || !open.isEmpty()); step++) {
      int what = rnd.nextInt(10);
      if (what < 5 && next < end) {
        boolean isNew = t.read(TP, next);
        assertThat(isNew).as("offset %d read: new unless handled as of the commit restored", next)
            .isEqualTo(!handled.contains(next) || last == null || next < last.offset());
        if (isNew) {
          open.add(next);
        }
        next++;
      } else if (what < 8 && !open.isEmpty()) {
        long off = open.remove(rnd.nextInt(open.size()));
        t.done(TP, off);
        handledNow.add(off);
      } else if (what < 9) {
        var commit = t.toCommit();
        t.markCommitted(commit);
        if (commit.containsKey(TP)) {
          last = commit.get(TP);
        }
        handled = new TreeSet<>(handledNow);
        assertThat(last == null || open.isEmpty() || last.offset() <= open.stream().min(Long::compare).get())
            .as("never past an open record").isTrue();
      } else if (crashesLeft > 0 && last != null) {
        crashesLeft--;
        t = new OffsetTracker();
        t.restore(TP, last);
        handledNow = new TreeSet<>(handled); // the uncommitted round is gone
        open.clear();
        next = last.offset();
      }
    }
  }
}
