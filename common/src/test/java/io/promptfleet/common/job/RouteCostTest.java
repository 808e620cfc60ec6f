package io.promptfleet.common.job;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import org.junit.jupiter.api.Test;

class RouteCostTest {
  /** 1,000 input + 2,000 cache reads + 500 cache writes, 100 output: Anthropic's usage in the fleet's shape. */
  private static final Usage CACHED = new Usage(3_500, 100, 3_600, JsonNodeFactory.instance.objectNode()
      .put("cached_tokens", 2_000).put("cache_read_input_tokens", 2_000).put("cache_creation_input_tokens", 500),
      null);

  @Test
  void shouldPriceCacheReadsAndWritesEachAtTheirOwnPrice() {
    Route r = new Route("a/c", "a", "c", 3.0, 15.0, 0.3, null, null, null, null, 3.75);

    assertThat(r.cost(CACHED)).isCloseTo((1_000 * 3.0 + 2_000 * 0.3 + 500 * 3.75 + 100 * 15.0) / 1e6,
        org.assertj.core.data.Offset.offset(1e-12));
  }

  @Test
  void shouldPriceCacheWritesAsInputWithoutACacheWritePrice() {
    Route r = new Route("a/c", "a", "c", 3.0, 15.0, 0.3, null, null, null, null);

    assertThat(r.cost(CACHED)).isCloseTo((1_500 * 3.0 + 2_000 * 0.3 + 100 * 15.0) / 1e6,
        org.assertj.core.data.Offset.offset(1e-12));
  }
}
