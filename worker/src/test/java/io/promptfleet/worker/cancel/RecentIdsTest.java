package io.promptfleet.worker.cancel;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RecentIdsTest {

  @Test
  void shouldRememberACancelUntilItsTimeToLivePasses() {
    RecentIds c = new RecentIds(10, 1_000);
    c.add("j1", 5_000);

    assertThat(c.contains("j1", 5_999)).isTrue();
    assertThat(c.contains("j1", 6_001)).isFalse();
    assertThat(c.contains("j2", 5_000)).isFalse();
  }

  @Test
  void shouldForgetTheOldestWhenFull() {
    RecentIds c = new RecentIds(2, 60_000);
    c.add("a", 1);
    c.add("b", 2);
    c.add("c", 3);

    assertThat(c.contains("a", 4)).isFalse();
    assertThat(c.contains("b", 4)).isTrue();
    assertThat(c.contains("c", 4)).isTrue();
    assertThat(c.size()).isEqualTo(2);
  }
}
