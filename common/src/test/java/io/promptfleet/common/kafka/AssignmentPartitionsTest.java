package io.promptfleet.common.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.config.ConfigLoader;
import io.promptfleet.common.config.FleetConfig;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class AssignmentPartitionsTest {
  private static FleetConfig fleet(String topics, int... concurrency) {
    StringBuilder keys = new StringBuilder();
    for (int i = 0; i < concurrency.length; i++) {
      keys.append("  k").append(i).append(": {provider: p, secret_env: V, max_concurrency: ").append(concurrency[i])
          .append("}\n");
    }
    return ConfigLoader.parse("""
        topics: {%s}
        providers:
          p: {base_url: "http://127.0.0.1:1/v1"}
        keys:
        %s
        models:
          m:
            routes: [{provider: p, model: up}]
        """.formatted(topics, keys), Map.of(), new Properties());
  }

  @Test
  void shouldGiveOnePartitionPerFiveHundredStreamsOfTheKeysConcurrency() {
    assertThat(TopicAdmin.assignmentPartitions(fleet("", 64))).isEqualTo(1);
    assertThat(TopicAdmin.assignmentPartitions(fleet("", 300, 200))).isEqualTo(1);
    assertThat(TopicAdmin.assignmentPartitions(fleet("", 300, 201))).isEqualTo(2);
    assertThat(TopicAdmin.assignmentPartitions(fleet("", 10_000))).isEqualTo(20);
  }

  @Test
  void shouldCapTheDerivedCountAndTakeAConfiguredOneAsItIs() {
    assertThat(TopicAdmin.assignmentPartitions(fleet("", 1_000_000)))
        .isEqualTo(TopicAdmin.MAX_DERIVED_ASSIGNMENT_PARTITIONS);
    assertThat(TopicAdmin.assignmentPartitions(fleet("assignment_partitions: 3", 64))).isEqualTo(3);
    assertThat(TopicAdmin.assignmentPartitions(fleet("assignment_partitions: 100", 1_000_000))).isEqualTo(100);
  }
}
