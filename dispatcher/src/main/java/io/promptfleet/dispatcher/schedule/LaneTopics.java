package io.promptfleet.dispatcher.schedule;

import io.promptfleet.common.config.TopicSettings;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/** Which topic feeds which lane: the retry topic and the three priority topics. Immutable, thread-safe. */
public final class LaneTopics {
  private final Map<String, Lane> laneOfTopic = new HashMap<>();
  private final Map<Lane, String> topicOfLane = new EnumMap<>(Lane.class);

  public LaneTopics(TopicSettings t) {
    laneOfTopic.put(t.jobsRetry(), Lane.RETRY);
    laneOfTopic.put(t.jobsHigh(), Lane.HIGH);
    laneOfTopic.put(t.jobsNormal(), Lane.NORMAL);
    laneOfTopic.put(t.jobsLow(), Lane.LOW);
    laneOfTopic.forEach((topic, lane) -> topicOfLane.put(lane, topic));
  }

  /** The lane of a job topic, or null for any other topic. */
  public Lane laneOf(String topic) {
    return laneOfTopic.get(topic);
  }

  public String topicOf(Lane lane) {
    return topicOfLane.get(lane);
  }

  /** The four job topics, for the subscription. */
  public Set<String> topics() {
    return Collections.unmodifiableSet(laneOfTopic.keySet());
  }
}
