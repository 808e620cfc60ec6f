package io.promptfleet.dispatcher.schedule;

import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.TenantSettings;
import io.promptfleet.common.config.TopicSettings;
import io.promptfleet.common.job.Priority;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which topic feeds which lane: the retry topic and the three priority topics, plus each configured tenant's three
 * priority topics, which feed the lane of their priority. Immutable, thread-safe.
 */
public final class LaneTopics {
  private final Map<String, Lane> laneOfTopic = new LinkedHashMap<>();
  private final Map<Lane, String> topicOfLane = new EnumMap<>(Lane.class);
  private final Map<Lane, List<String>> topicsOfLane = new EnumMap<>(Lane.class);

  public LaneTopics(TopicSettings t) {
    this(t, Map.of());
  }

  /** The fleet's job topics and its tenants' ones. */
  public LaneTopics(FleetConfig config) {
    this(config.topics(), config.tenants());
  }

  private LaneTopics(TopicSettings t, Map<String, TenantSettings> tenants) {
    Map<String, Lane> shared = new HashMap<>();
    shared.put(t.jobsRetry(), Lane.RETRY);
    shared.put(t.jobsHigh(), Lane.HIGH);
    shared.put(t.jobsNormal(), Lane.NORMAL);
    shared.put(t.jobsLow(), Lane.LOW);
    shared.forEach((topic, lane) -> topicOfLane.put(lane, topic));
    laneOfTopic.putAll(shared);
    for (TenantSettings tenant : tenants.values()) {
      for (Priority p : Priority.values()) {
        laneOfTopic.put(tenant.topics().of(p), laneOf(p));
      }
    }
    for (Lane lane : Lane.values()) {
      topicsOfLane.put(lane, new ArrayList<>());
    }
    laneOfTopic.forEach((topic, lane) -> topicsOfLane.get(lane).add(topic));
  }

  private static Lane laneOf(Priority p) {
    return switch (p) {
      case HIGH -> Lane.HIGH;
      case NORMAL -> Lane.NORMAL;
      case LOW -> Lane.LOW;
    };
  }

  /** The lane of a job topic, or null for any other topic. */
  public Lane laneOf(String topic) {
    return laneOfTopic.get(topic);
  }

  /** The fleet's own (shared) topic of a lane. */
  public String topicOf(Lane lane) {
    return topicOfLane.get(lane);
  }

  /** Every topic of a lane: the shared one and each tenant's of that priority (pause and resume them together). */
  public List<String> topicsOf(Lane lane) {
    return Collections.unmodifiableList(topicsOfLane.get(lane));
  }

  /** Every job topic (the four shared ones and the tenants'), for the subscription. */
  public Set<String> topics() {
    return Collections.unmodifiableSet(laneOfTopic.keySet());
  }
}
