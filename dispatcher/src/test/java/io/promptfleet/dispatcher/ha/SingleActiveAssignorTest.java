package io.promptfleet.dispatcher.ha;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.GroupSubscription;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.RebalanceProtocol;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Subscription;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class SingleActiveAssignorTest {
  private static final List<String> TOPICS = List.of("jobs.high", "jobs.normal");
  private static final Node NODE = new Node(0, "localhost", 9092);
  private static final Cluster CLUSTER = new Cluster("c", List.of(NODE), List.of(
      part("jobs.high", 0), part("jobs.high", 1), part("jobs.normal", 0), part("jobs.normal", 1)), Set.of(), Set.of());
  private static final List<TopicPartition> ALL = List.of(new TopicPartition("jobs.high", 0),
      new TopicPartition("jobs.high", 1), new TopicPartition("jobs.normal", 0), new TopicPartition("jobs.normal", 1));

  private final SingleActiveAssignor assignor = new SingleActiveAssignor();

  @Test
  void shouldOfferTheCooperativeProtocolSoTheActiveMemberRevokesNothingAtARebalance() {
    assertThat(assignor.supportedProtocols()).contains(RebalanceProtocol.COOPERATIVE);
  }

  @Test
  void shouldLeaveEverythingWithTheActiveMemberWhenAStandbyWithASmallerIdJoins() {
    Map<String, Subscription> subs = Map.of(
        "b-active", sub(true, ALL, 7),
        "a-joined", sub(false, List.of(), -1));
    Map<String, List<TopicPartition>> out = assign(subs);
    assertThat(out.get("b-active")).containsExactlyInAnyOrderElementsOf(ALL);
    assertThat(out.get("a-joined")).isEmpty();
  }

  @Test
  void shouldKeepTheOwnerEvenWhenItsFlagIsDownAndAnotherMemberSaysItWasActive() {
    Map<String, Subscription> subs = Map.of(
        "b-owner", sub(false, ALL, 7),
        "a-flagged", sub(true, List.of(), -1));
    assertThat(assign(subs).get("b-owner")).containsExactlyInAnyOrderElementsOf(ALL);
  }

  @Test
  void shouldGiveEverythingToTheFlaggedMemberWhenNoneOwnsAny() {
    // an EAGER member of an older version revoked everything before joining; its flag says it was active
    Map<String, Subscription> subs = Map.of(
        "b-was-active", sub(true, List.of(), 7),
        "a-standby", sub(false, List.of(), 7));
    assertThat(assign(subs).get("b-was-active")).containsExactlyInAnyOrderElementsOf(ALL);
  }

  @Test
  void shouldGiveEverythingToTheSmallestIdWhenTheActiveMemberIsGone() {
    Map<String, Subscription> subs = Map.of(
        "b-standby", sub(false, List.of(), 7),
        "a-standby", sub(false, List.of(), 7));
    Map<String, List<TopicPartition>> out = assign(subs);
    assertThat(out.get("a-standby")).containsExactlyInAnyOrderElementsOf(ALL);
    assertThat(out.get("b-standby")).isEmpty();
  }

  @Test
  void shouldMoveNothingStraightFromOneOwnerToAnotherWhenTwoClaimPartitions() {
    // a stale claim (an older generation) beside the current owner's: the newer claim wins; the partition only the
    // stale member claims goes to nobody in this rebalance (it revokes, rejoins, and the next one moves it)
    Map<String, Subscription> subs = new HashMap<>();
    subs.put("a-stale", sub(false, List.of(ALL.get(0), ALL.get(1)), 5));
    subs.put("b-current", sub(true, List.of(ALL.get(1), ALL.get(2), ALL.get(3)), 7));
    Map<String, List<TopicPartition>> out = assign(subs);
    assertThat(out.get("b-current")).containsExactlyInAnyOrder(ALL.get(1), ALL.get(2), ALL.get(3));
    assertThat(out.get("a-stale")).isEmpty();
    assertCooperative(subs, out);

    // the next rebalance: a-stale revoked what it claimed
    subs.put("a-stale", sub(false, List.of(), 7));
    subs.put("b-current", sub(true, out.get("b-current"), 8));
    Map<String, List<TopicPartition>> next = assign(subs);
    assertThat(next.get("b-current")).containsExactlyInAnyOrderElementsOf(ALL);
    assertCooperative(subs, next);
  }

  /** The COOPERATIVE protocol's rule, as the consumer's leader checks it: nothing added that another one revokes. */
  private static void assertCooperative(Map<String, Subscription> subs, Map<String, List<TopicPartition>> out) {
    Set<TopicPartition> added = new HashSet<>();
    Set<TopicPartition> revoked = new HashSet<>();
    out.forEach((member, parts) -> {
      List<TopicPartition> owned = subs.get(member).ownedPartitions();
      parts.stream().filter(tp -> !owned.contains(tp)).forEach(added::add);
      owned.stream().filter(tp -> !parts.contains(tp)).forEach(revoked::add);
    });
    added.retainAll(revoked);
    assertThat(added).as("partitions moved straight from one owner to another").isEmpty();
  }

  private Map<String, List<TopicPartition>> assign(Map<String, Subscription> subs) {
    Map<String, List<TopicPartition>> out = new HashMap<>();
    assignor.assign(CLUSTER, new GroupSubscription(subs)).groupAssignment()
        .forEach((member, a) -> out.put(member, new ArrayList<>(a.partitions())));
    assertThat(out).containsOnlyKeys(subs.keySet());
    return out;
  }

  private static Subscription sub(boolean flag, List<TopicPartition> owned, int generation) {
    return new Subscription(TOPICS, ByteBuffer.wrap(new byte[] {(byte) (flag ? 1 : 0)}), owned, generation,
        Optional.empty());
  }

  private static PartitionInfo part(String topic, int p) {
    return new PartitionInfo(topic, p, NODE, new Node[] {NODE}, new Node[] {NODE});
  }
}
