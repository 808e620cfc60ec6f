package io.promptfleet.dispatcher.ha;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
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
 * partitions across rebalances; when it dies, the group's session timeout removes it and the member with the
 * smallest id takes everything.
 *
 * <p>It supports the COOPERATIVE rebalance protocol (the consumer then uses it): a member keeps what it owns while
 * the group rebalances, so a standby joining or leaving does not take the partitions from the active one (with the
 * EAGER protocol every member revoked everything before each rebalance, and the active dispatcher stood by and took
 * over again, a new term, each time a standby started). The active member is the one that owns job partitions (its
 * subscription's owned partitions; of several, the newest generation's claim, then the most partitions, then the
 * smallest id); if none owns any, the one whose user data says it was active (an EAGER member of an older version
 * revoked everything before joining), else the smallest id. As the protocol requires, no partition goes to it while
 * another member still owns it: that member is given nothing, revokes, and rejoins, and the next rebalance completes
 * the move.
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

  /** COOPERATIVE first choice (the consumer takes the highest it supports); EAGER for older members' sake. */
  @Override
  public List<RebalanceProtocol> supportedProtocols() {
    return List.of(RebalanceProtocol.EAGER, RebalanceProtocol.COOPERATIVE);
  }

  @Override
  public GroupAssignment assign(Cluster metadata, GroupSubscription groupSubscription) {
    Map<String, Subscription> subs = groupSubscription.groupSubscription();
    String chosen = chosen(subs);
    Set<TopicPartition> ownedByOthers = new HashSet<>();
    subs.forEach((member, sub) -> {
      if (!member.equals(chosen)) {
        ownedByOthers.addAll(sub.ownedPartitions());
      }
    });
    ownedByOthers.removeAll(subs.get(chosen).ownedPartitions()); // a claim of both: the chosen one keeps it
    Map<String, Assignment> out = new HashMap<>();
    for (var e : subs.entrySet()) {
      List<TopicPartition> parts = new ArrayList<>();
      if (e.getKey().equals(chosen)) {
        for (String topic : new TreeSet<>(e.getValue().topics())) {
          List<PartitionInfo> infos = metadata.partitionsForTopic(topic);
          if (infos != null) {
            infos.stream().map(p -> new TopicPartition(topic, p.partition()))
                .filter(tp -> !ownedByOthers.contains(tp)).forEach(parts::add);
          }
        }
      }
      out.put(e.getKey(), new Assignment(parts));
    }
    return new GroupAssignment(out);
  }

  /** The member that gets the job partitions (see the class comment). */
  private static String chosen(Map<String, Subscription> subs) {
    Comparator<Map.Entry<String, Subscription>> byClaim = Comparator
        .comparing((Map.Entry<String, Subscription> e) -> e.getValue().generationId().orElse(-1))
        .thenComparing(e -> e.getValue().ownedPartitions().size())
        .reversed()
        .thenComparing(Map.Entry::getKey);
    var owner = subs.entrySet().stream().filter(e -> !e.getValue().ownedPartitions().isEmpty()).min(byClaim);
    if (owner.isPresent()) {
      return owner.get().getKey();
    }
    String chosen = null;
    for (String member : new TreeSet<>(subs.keySet())) {
      ByteBuffer data = subs.get(member).userData();
      if (data != null && data.remaining() > 0 && data.get(data.position()) == 1) {
        return member;
      }
      if (chosen == null) {
        chosen = member;
      }
    }
    return chosen;
  }

  @Override
  public String name() {
    return NAME;
  }
}
