package io.promptfleet.dispatcher.spill;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.config.TopicSettings;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

class SpillTest {
  private final SpillTopics topics = new SpillTopics(TopicSettings.defaults(), List.of("gpt-4o", "org/model:v1", "*"));
  private final Spill spill = new Spill(topics, 3, 10);
  private final Map<TopicPartition, Long> positions = new HashMap<>();
  private final Spill.Positions at = tp -> positions.getOrDefault(tp, -1L);

  @Test
  void shouldNameATopicPerModelWithAPartitionPerLaneAndTellUnsafeNamesApart() {
    assertThat(topics.partitionOf("gpt-4o", Lane.HIGH)).isEqualTo(new TopicPartition("llm.jobs.spill.gpt-4o", 1));
    assertThat(topics.partitionOf("org/model:v1", Lane.LOW).topic()).matches("llm\\.jobs\\.spill\\.org_model_v1-[0-9a-f]{8}");
    assertThat(topics.partitionOf("*", Lane.RETRY).topic()).startsWith("llm.jobs.spill._any-");
    assertThat(SpillTopics.slug("a/b")).isNotEqualTo(SpillTopics.slug("a:b")).startsWith("a_b-");
    assertThat(topics.slotOf(new TopicPartition("llm.jobs.spill.gpt-4o", 2)))
        .isEqualTo(new SpillTopics.Slot("gpt-4o", Lane.NORMAL));
    assertThat(topics.slotOf(new TopicPartition("llm.jobs.normal", 2))).isNull();
  }

  @Test
  void shouldDivertWhenTheModelsShareOrTheWholeBufferIsFullAndWhileItsSpillPartitionHasJobs() {
    TopicPartition high = topics.partitionOf("gpt-4o", Lane.HIGH);

    assertThat(spill.divert("gpt-4o", Lane.HIGH, 2, 5, at)).as("room").isNull();
    assertThat(spill.divert("gpt-4o", Lane.HIGH, 3, 5, at)).as("its share full").isEqualTo(high);
    assertThat(spill.divert("gpt-4o", Lane.HIGH, 0, 10, at)).as("the whole buffer full").isEqualTo(high);

    spill.written(high, 41);
    assertThat(spill.divert("gpt-4o", Lane.HIGH, 0, 0, at)).as("position unknown, 42 written").isEqualTo(high);
    positions.put(high, 41L);
    assertThat(spill.divert("gpt-4o", Lane.HIGH, 0, 0, at)).as("one left to read back").isEqualTo(high);
    assertThat(spill.backlog("gpt-4o", at)).isEqualTo(1);
    positions.put(high, 42L);
    assertThat(spill.divert("gpt-4o", Lane.HIGH, 0, 0, at)).as("read back to the end").isNull();
    assertThat(spill.divert("gpt-4o", Lane.LOW, 0, 0, at)).as("another lane is not held up").isNull();

    spill.endFound(topics.partitionOf("*", Lane.LOW), 7);
    assertThat(spill.backlog("*", at)).as("a predecessor's spill, position unknown").isEqualTo(7);
  }

  @Test
  void shouldPauseASpillPartitionWhileItsQueueIsFullAndResumeItAtHalfOnce() {
    List<String> calls = new ArrayList<>();
    Spill.Pauses pauses = new Spill.Pauses() {
      @Override
      public void pause(TopicPartition tp) {
        calls.add("pause " + tp);
      }

      @Override
      public void resume(TopicPartition tp) {
        calls.add("resume " + tp);
      }
    };
    int[] queued = {3};
    Spill.Queued sizes = (group, lane) -> "gpt-4o".equals(group) && lane == Lane.NORMAL ? queued[0] : 0;

    spill.pauseOrResume(sizes, 3, pauses);
    spill.pauseOrResume(sizes, 3, pauses);
    queued[0] = 2;
    spill.pauseOrResume(sizes, 2, pauses);
    queued[0] = 1;
    spill.pauseOrResume(sizes, 1, pauses);
    spill.pauseOrResume(sizes, 1, pauses);

    assertThat(calls).containsExactly("pause llm.jobs.spill.gpt-4o-2", "resume llm.jobs.spill.gpt-4o-2");
  }

  @Test
  void shouldCopyHeadersNamingTheSourceTopicAndReplaceOneAProducerSent() {
    RecordHeaders sent = new RecordHeaders();
    sent.add("trace", "t1".getBytes(StandardCharsets.UTF_8));
    sent.add(SpillTopics.SOURCE_TOPIC_HEADER, "llm.acme.jobs.high".getBytes(StandardCharsets.UTF_8));

    var copy = SpillTopics.copyHeaders(sent, "llm.jobs.normal");

    assertThat(copy.headers(SpillTopics.SOURCE_TOPIC_HEADER)).hasSize(1);
    assertThat(SpillTopics.sourceTopic(copy, "x")).isEqualTo("llm.jobs.normal");
    assertThat(new String(copy.lastHeader("trace").value(), StandardCharsets.UTF_8)).isEqualTo("t1");
    assertThat(SpillTopics.sourceTopic(new RecordHeaders(), "fallback")).isEqualTo("fallback");
  }
}
