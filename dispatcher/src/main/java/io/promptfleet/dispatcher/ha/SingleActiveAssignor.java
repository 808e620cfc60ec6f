package io.promptfleet.dispatcher.ha;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Configurable;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * A partition assignor (classic group protocol) that gives every partition of the job topics to ONE member, so
 * exactly one dispatcher is active and the others stand by with nothing. The member that is active keeps its
 * partitions across rebalances (it says so in its subscription's user data); when it dies, the group's session
 * timeout removes it and the member with the smallest id takes everything.
 *
 * <p>The consumer creates the assignor; the dispatcher tells it whether it is active through
 * {@link #activeFlag(String)} keyed by the consumer's client id. Thread-safe.
 */
public final class SingleActiveAssignor implements ConsumerPartitionAssignor, Configurable {
  public static final String NAME = "pf-single-active";
  private static final Map<String, AtomicBoolean> FLAGS = new ConcurrentHashMap<>();
  private AtomicBoolean active = new AtomicBoolean();

  /** The flag the dispatcher with consumer client id {@code clientId} sets while it holds the partitions. */
  public static AtomicBoolean activeFlag(String clientId) {
    return FLAGS.computeIfAbsent(clientId, k -> new AtomicBoolean());
  }

  /** Forgets the flag of a closed consumer. */
  public static void forget(String clientId) {
    FLAGS.remove(clientId);
  }

  @Override
  public void configure(Map<String, ?> configs) {
    Object id = configs.get("client.id");
    if (id != null) {
      active = activeFlag(id.toString());
    }
  }

  @Override
  public ByteBuffer subscriptionUserData(Set<String> topics) {
    return ByteBuffer.wrap(new byte[] {(byte) (active.get() ? 1 : 0)});
  }

  @Override
  public GroupAssignment assign(Cluster metadata, GroupSubscription groupSubscription) {
    Map<String, Subscription> subs = groupSubscription.groupSubscription();
    String chosen = null;
    for (String member : new TreeSet<>(subs.keySet())) {
      ByteBuffer data = subs.get(member).userData();
      boolean wasActive = data != null && data.remaining() > 0 && data.get(data.position()) == 1;
      if (wasActive) {
        chosen = member;
        break;
      }
      if (chosen == null) {
        chosen = member;
      }
    }
    Map<String, Assignment> out = new HashMap<>();
    for (var e : subs.entrySet()) {
      List<TopicPartition> parts = new ArrayList<>();
      if (e.getKey().equals(chosen)) {
        for (String topic : new TreeSet<>(e.getValue().topics())) {
          List<PartitionInfo> infos = metadata.partitionsForTopic(topic);
          if (infos != null) {
            infos.forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
          }
        }
      }
      out.put(e.getKey(), new Assignment(parts));
    }
    return new GroupAssignment(out);
  }

  @Override
  public String name() {
    return NAME;
  }
}
