package io.promptfleet.dispatcher.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.config.PrioritySettings;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Choice;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ReadyQueuesTest {
  /** An item: its group, lane and when it became ready. */
  record Item(String name, long readyAt) {}

  private static ReadyQueues<Item> queues(long agingMs) {
    return new ReadyQueues<>(new PrioritySettings(16, 8, 3, 1, agingMs), Item::readyAt);
  }

  @Test
  void shouldShareDispatchesByLaneWeightWhileEveryLaneHasWork() {
    ReadyQueues<Item> q = queues(0);
    for (int i = 0; i < 1_000; i++) {
      q.add("m", Lane.HIGH, new Item("h", 0));
      q.add("m", Lane.NORMAL, new Item("n", 0));
      q.add("m", Lane.LOW, new Item("l", 0));
    }
    Map<Lane, Integer> taken = new EnumMap<>(Lane.class);
    for (int i = 0; i < 120; i++) {
      Choice<Item> c = q.next(10, g -> false);
      q.take(c);
      taken.merge(c.lane(), 1, Integer::sum);
    }
    assertThat(taken.get(Lane.HIGH)).isEqualTo(80);
    assertThat(taken.get(Lane.NORMAL)).isEqualTo(30);
    assertThat(taken.get(Lane.LOW)).as("low work still moves").isEqualTo(10);
  }

  @Test
  void shouldSendAFreshHighJobAheadOfAQueuedLowBacklog() {
    ReadyQueues<Item> q = queues(0);
    for (int i = 0; i < 500; i++) {
      q.add("m", Lane.LOW, new Item("l", 0));
    }
    for (int i = 0; i < 5; i++) {
      q.take(q.next(1, g -> false));
    }
    q.add("m", Lane.HIGH, new Item("h", 2));
    assertThat(q.next(3, g -> false).lane()).isEqualTo(Lane.HIGH);
  }

  @Test
  void shouldLetAJobThatWaitedPastTheAgingLimitGoFirst() {
    ReadyQueues<Item> q = queues(1_000);
    q.add("m", Lane.LOW, new Item("old-low", 0));
    for (int i = 0; i < 10; i++) {
      q.add("m", Lane.HIGH, new Item("h", 900));
    }
    assertThat(q.next(950, g -> false).item().name()).isEqualTo("h");
    assertThat(q.next(1_000, g -> false).item().name()).isEqualTo("old-low");
  }

  @Test
  void shouldNotLetABlockedModelHoldBackAnother() {
    ReadyQueues<Item> q = queues(0);
    q.add("saturated", Lane.HIGH, new Item("a", 0));
    q.add("free", Lane.LOW, new Item("b", 5));
    Choice<Item> c = q.next(10, g -> g.equals("saturated"));
    assertThat(c.group()).isEqualTo("free");
    assertThat(c.item().name()).isEqualTo("b");
  }

  @Test
  void shouldHoldRetriesUntilTheyAreDueAndSendThemInDueOrder() {
    ReadyQueues<Item> q = queues(0);
    q.add("m", Lane.RETRY, new Item("later", 500));
    q.add("m", Lane.RETRY, new Item("sooner", 200));
    assertThat(q.next(100, g -> false)).isNull();
    assertThat(q.next(300, g -> false).item().name()).isEqualTo("sooner");
    q.take(q.next(300, g -> false));
    assertThat(q.next(300, g -> false)).isNull();
    assertThat(q.next(500, g -> false).item().name()).isEqualTo("later");
  }

  @Test
  void shouldRemoveMatchingItemsAndKeepSizesRight() {
    ReadyQueues<Item> q = queues(0);
    q.add("m", Lane.LOW, new Item("x", 0));
    q.add("m", Lane.LOW, new Item("y", 0));
    q.add("n", Lane.HIGH, new Item("x", 0));
    assertThat(q.removeIf(i -> i.name().equals("x"))).hasSize(2);
    assertThat(q.size()).isEqualTo(1);
    assertThat(q.size(Lane.LOW)).isEqualTo(1);
    assertThat(q.size(Lane.HIGH)).isZero();
  }
}
