package io.promptfleet.dispatcher.spill;

import io.promptfleet.common.config.TopicSettings;
import io.promptfleet.dispatcher.schedule.ReadyQueues.Lane;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Where the jobs of a model wait when its ready queue is full ({@link Spill}): one topic per ready-queue group (a configured model,
 * or {@code *}), {@code <prefix>.jobs.spill.<model>}, with one partition per lane ({@link Lane} order: retry, high,
 * normal, low). A partition holds one model's jobs of one lane in the order they were read, so reading it back keeps
 * them FIFO, and no model's backlog sits in front of another's.
 *
 * <p>Model names that are not valid topic name characters (Kafka allows {@code [a-zA-Z0-9._-]}, at most 249) are
 * written with {@code _} in their place and a short hash of the exact name appended, so two names never share a
 * topic. Immutable, thread-safe.
 */
public final class SpillTopics {
  /**
   * The header a spill copy carries: the topic the job was produced to, from which its tenant is established
   * when it is read back (the dispatcher sets it, replacing any a producer sent).
   */
  public static final String SOURCE_TOPIC_HEADER = "pf.spill.topic";
  /** Partitions of a spill topic: one per lane. */
  public static final int PARTITIONS = Lane.values().length;
  private static final Pattern UNSAFE = Pattern.compile("[^a-zA-Z0-9._-]");
  private static final int MAX_TOPIC = 249;

  /** Where a group's jobs of one lane wait. */
  public record Slot(String group, Lane lane) {}

  private final Map<String, String> topicOfGroup = new LinkedHashMap<>();
  private final Map<String, String> groupOfTopic = new LinkedHashMap<>();

  /** @param groups every ready-queue group (the configured model names) */
  public SpillTopics(TopicSettings topics, Collection<String> groups) {
    for (String g : groups) {
      String t = topics.prefix() + ".jobs.spill." + slug(g);
      topicOfGroup.put(g, t);
      groupOfTopic.put(t, g);
    }
  }

  /** The partition where {@code group}'s jobs of {@code lane} wait. */
  public TopicPartition partitionOf(String group, Lane lane) {
    String t = topicOfGroup.get(group);
    if (t == null) {
      throw new IllegalArgumentException("no spill topic for model group " + group);
    }
    return new TopicPartition(t, lane.ordinal());
  }

  /** The group and lane a spill partition feeds, or null when {@code tp} is not a spill partition. */
  public Slot slotOf(TopicPartition tp) {
    String g = groupOfTopic.get(tp.topic());
    return g == null || tp.partition() >= PARTITIONS ? null : new Slot(g, Lane.values()[tp.partition()]);
  }

  public boolean isSpillTopic(String topic) {
    return groupOfTopic.containsKey(topic);
  }

  /** Every group with a spill topic. */
  public List<String> groups() {
    return List.copyOf(topicOfGroup.keySet());
  }

  /** Every spill topic, in the order of the groups. */
  public List<String> topics() {
    return List.copyOf(topicOfGroup.values());
  }

  /** The topic a copy read back from a spill partition was produced to ({@code fallback} without the header). */
  public static String sourceTopic(Headers headers, String fallback) {
    Header h = headers == null ? null : headers.lastHeader(SOURCE_TOPIC_HEADER);
    return h == null || h.value() == null ? fallback : new String(h.value(), StandardCharsets.UTF_8);
  }

  /** The headers of {@code source}'s copy: its own, with the source topic header set to {@code topic}. */
  public static Headers copyHeaders(Headers source, String topic) {
    RecordHeaders h = new RecordHeaders();
    if (source != null) {
      for (Header x : source) {
        if (!SOURCE_TOPIC_HEADER.equals(x.key())) {
          h.add(x);
        }
      }
    }
    h.add(SOURCE_TOPIC_HEADER, topic.getBytes(StandardCharsets.UTF_8));
    return h;
  }

  /** The topic-name form of a model name: as is when safe, else made safe and told apart by a hash. */
  static String slug(String group) {
    String safe = "*".equals(group) ? "_any" : UNSAFE.matcher(group).replaceAll("_");
    boolean changed = !safe.equals(group);
    int room = MAX_TOPIC - 64; // leaves room for the prefix and the hash
    if (safe.length() > room) {
      safe = safe.substring(0, room);
      changed = true;
    }
    return changed ? safe + "-" + hash(group) : safe;
  }

  private static String hash(String s) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 4);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
