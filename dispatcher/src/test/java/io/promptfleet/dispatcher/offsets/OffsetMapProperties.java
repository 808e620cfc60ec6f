package io.promptfleet.dispatcher.offsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/** The handled ranges survive the trip through the offset commit's metadata, and stay within the stated size. */
class OffsetMapProperties {

  @Property(tries = 500)
  void shouldDecodeWhatItEncoded(@ForAll long seed, @ForAll @LongRange(min = 0, max = Long.MAX_VALUE / 4) long base,
      @ForAll @IntRange(min = 0, max = 400) int n) {
    Random rnd = new Random(seed);
    List<OffsetMap.Range> ranges = new ArrayList<>();
    long at = base;
    for (int i = 0; i < n; i++) {
      long from = at + (rnd.nextInt(4) == 0 ? rnd.nextInt(1 << 30) : rnd.nextInt(3)) + (i == 0 ? 0 : 1);
      long to = from + 1 + (rnd.nextInt(5) == 0 ? rnd.nextInt(1 << 30) : rnd.nextInt(20));
      ranges.add(new OffsetMap.Range(from, to));
      at = to;
    }

    String m = OffsetMap.encode(base, ranges);

    assertThat(OffsetMap.decode(base, m)).isEqualTo(ranges);
    assertThat(m.length()).isLessThanOrEqualTo(OffsetMap.maxLength(n));
    assertThat(m).matches(n == 0 ? "" : "pf1:[A-Za-z0-9_-]+");
  }

  @Example
  void shouldTakeAFewCharactersForATypicalPartition() {
    // 100 jobs waiting, each with up to 50 handled records between them
    List<OffsetMap.Range> ranges = new ArrayList<>();
    for (long i = 0; i < 100; i++) {
      ranges.add(new OffsetMap.Range(1_000 + i * 51 + 1, 1_000 + i * 51 + 51));
    }
    assertThat(OffsetMap.encode(1_000, ranges)).hasSizeLessThan(300);
  }

  @Example
  void shouldReadMetadataItDidNotWriteAsNothingHandled() {
    assertThat(OffsetMap.decode(5, "")).isEmpty();
    assertThat(OffsetMap.decode(5, null)).isEmpty();
    assertThat(OffsetMap.decode(5, "written by another tool")).isEmpty();
  }

  @Example
  void shouldRefuseUnsortedRangesAndATruncatedMap() {
    assertThatThrownBy(() -> OffsetMap.encode(10, List.of(new OffsetMap.Range(5, 6))))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> OffsetMap.decode(0, "pf1:gA")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("ends inside a number");
  }
}
