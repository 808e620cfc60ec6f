package io.promptfleet.kafka.embedded;

import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicIdPartition;
import org.apache.kafka.common.errors.InvalidRecordStateException;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static io.promptfleet.kafka.embedded.TestClients.deliveryCounts;
import static io.promptfleet.kafka.embedded.TestClients.measure;
import static io.promptfleet.kafka.embedded.TestClients.offsets;
import static io.promptfleet.kafka.embedded.TestClients.pollUntilRecords;
import static io.promptfleet.kafka.embedded.TestClients.produce;
import static io.promptfleet.kafka.embedded.TestClients.shareConsumer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * AcknowledgeType.RENEW (KIP-1222) on clients and broker 4.4.0: the facts that decide whether one
 * KafkaShareConsumer can hold records across polls while fetching new ones. (It cannot.)
 */
class ShareRenewTest {

    private static final String CANNOT_ACK = "The record cannot be acknowledged.";

    private final String bootstrap = SharedKafka.bootstrapServers();

    private String topic(String group, Map<String, String> groupConfigs, String... values) {
        String topic = KafkaTestSupport.uniqueName("renew");
        KafkaTestSupport.createTopics(bootstrap, 1, topic);
        KafkaTestSupport.setShareGroupAutoOffsetResetEarliest(bootstrap, group);
        if (!groupConfigs.isEmpty()) {
            KafkaTestSupport.alterGroupConfigs(bootstrap, group, groupConfigs);
        }
        produce(bootstrap, topic, values);
        return topic;
    }

    private static void ackAll(KafkaShareConsumer<String, String> c, ConsumerRecords<String, String> recs,
                               AcknowledgeType type) {
        recs.forEach(r -> c.acknowledge(r, type));
    }

    private static void assertCommitOk(Map<TopicIdPartition, Optional<KafkaException>> result) {
        assertThat(result.values()).allSatisfy(e -> assertThat(e).isEmpty());
    }

    /**
     * RENEW + commitSync, then poll: poll returns the SAME records at once (deliveryCount still 1) and
     * fetches nothing new. Records renewed again keep coming back alone; new records arrive only once
     * every held record got ACCEPT/RELEASE/REJECT.
     */
    @Test
    void renewedRecordsComeBackFromTheNextPollAndNothingNewIsFetchedWhileAnyIsRenewed() {
        String group = KafkaTestSupport.uniqueName("g");
        String topic = topic(group, Map.of(), "r0", "r1", "r2", "r3");
        try (KafkaShareConsumer<String, String> c = shareConsumer(bootstrap, group, 2)) {
            c.subscribe(List.of(topic));
            ConsumerRecords<String, String> b = pollUntilRecords(c, Duration.ofSeconds(15));
            assertThat(offsets(b)).containsExactly(0L, 1L);

            ackAll(c, b, AcknowledgeType.RENEW);
            assertCommitOk(c.commitSync());
            long t0 = System.nanoTime();
            b = c.poll(Duration.ofSeconds(2));
            long pollMs = (System.nanoTime() - t0) / 1_000_000;
            measure("poll after RENEW+commitSync returned " + offsets(b) + " dc " + deliveryCounts(b) + " in ms", pollMs);
            assertThat(offsets(b)).containsExactly(0L, 1L);
            assertThat(deliveryCounts(b)).containsExactly((short) 1, (short) 1);
            assertThat(pollMs).isLessThan(500);

            // Finish r0, keep r1: the next poll returns r1 alone, not r1 + r2.
            List<ConsumerRecord<String, String>> recs = new ArrayList<>();
            b.forEach(recs::add);
            c.acknowledge(recs.get(0), AcknowledgeType.ACCEPT);
            c.acknowledge(recs.get(1), AcknowledgeType.RENEW);
            assertCommitOk(c.commitSync());
            for (int i = 0; i < 3; i++) {
                b = c.poll(Duration.ofMillis(500));
                assertThat(offsets(b)).as("poll %d while r1 is renewed", i).containsExactly(1L);
                ackAll(c, b, AcknowledgeType.RENEW);
                assertCommitOk(c.commitSync());
            }
            b = c.poll(Duration.ofMillis(500));
            assertThat(offsets(b)).containsExactly(1L);
            ackAll(c, b, AcknowledgeType.ACCEPT);
            assertCommitOk(c.commitSync());

            // Only now does the consumer fetch again.
            b = pollUntilRecords(c, Duration.ofSeconds(5));
            assertThat(offsets(b)).containsExactly(2L, 3L);
            assertThat(deliveryCounts(b)).containsExactly((short) 1, (short) 1);
            ackAll(c, b, AcknowledgeType.ACCEPT);
            assertCommitOk(c.commitSync());
        }
    }

    /**
     * Between RENEW+commit and the next poll a renewed record cannot be acknowledged at all, neither as
     * the ConsumerRecord nor by (topic, partition, offset). The coordinates form never works for a
     * record that was delivered normally (it is for records that failed to deserialize).
     */
    @Test
    void aRenewedRecordCannotBeAcknowledgedBeforeTheNextPollNorByCoordinates() {
        String group = KafkaTestSupport.uniqueName("g");
        String topic = topic(group, Map.of(), "r0");
        try (KafkaShareConsumer<String, String> c = shareConsumer(bootstrap, group, 1)) {
            c.subscribe(List.of(topic));
            ConsumerRecords<String, String> b = pollUntilRecords(c, Duration.ofSeconds(15));
            ConsumerRecord<String, String> r0 = b.iterator().next();
            assertThatThrownBy(() -> c.acknowledge(topic, 0, 0L, AcknowledgeType.ACCEPT))
                    .as("coordinates, record in flight").isInstanceOf(IllegalStateException.class).hasMessage(CANNOT_ACK);

            c.acknowledge(r0, AcknowledgeType.RENEW);
            assertCommitOk(c.commitSync());
            assertThatThrownBy(() -> c.acknowledge(r0, AcknowledgeType.ACCEPT))
                    .as("record, after RENEW").isInstanceOf(IllegalStateException.class).hasMessage(CANNOT_ACK);
            assertThatThrownBy(() -> c.acknowledge(topic, 0, 0L, AcknowledgeType.ACCEPT))
                    .as("coordinates, after RENEW").isInstanceOf(IllegalStateException.class).hasMessage(CANNOT_ACK);

            b = c.poll(Duration.ofSeconds(2));
            assertThat(offsets(b)).containsExactly(0L);
            assertThatThrownBy(() -> c.acknowledge(topic, 0, 0L, AcknowledgeType.ACCEPT))
                    .as("coordinates, redelivered").isInstanceOf(IllegalStateException.class).hasMessage(CANNOT_ACK);
            // The ConsumerRecord object from the ORIGINAL delivery works again once poll returned it.
            c.acknowledge(r0, AcknowledgeType.ACCEPT);
            assertCommitOk(c.commitSync());
            assertThat(c.poll(Duration.ofMillis(300))).isEmpty();
        }
    }

    /**
     * RENEW without commitSync (the acks ride on the next poll's fetch; commitAsync behaves the same):
     * the first poll after RENEW returns NOTHING and blocks for its whole timeout; the renewed records
     * come back from a later poll.
     */
    @Test
    void withoutCommitSyncThePollAfterRenewReturnsEmptyAfterItsFullTimeout() {
        String group = KafkaTestSupport.uniqueName("g");
        String topic = topic(group, Map.of(), "r0", "r1");
        try (KafkaShareConsumer<String, String> c = shareConsumer(bootstrap, group, 1)) {
            c.subscribe(List.of(topic));
            ConsumerRecords<String, String> b = pollUntilRecords(c, Duration.ofSeconds(15));
            assertThat(offsets(b)).containsExactly(0L);
            ackAll(c, b, AcknowledgeType.RENEW);
            long t0 = System.nanoTime();
            ConsumerRecords<String, String> empty = c.poll(Duration.ofMillis(600));
            long firstMs = (System.nanoTime() - t0) / 1_000_000;
            b = pollUntilRecords(c, Duration.ofSeconds(5));
            long backMs = (System.nanoTime() - t0) / 1_000_000;
            measure("RENEW without commit: first poll(600ms) returned " + offsets(empty) + " after ms", firstMs);
            measure("RENEW without commit: renewed record back after ms", backMs);
            assertThat(empty).isEmpty();
            assertThat(firstMs).isGreaterThanOrEqualTo(550);
            assertThat(offsets(b)).containsExactly(0L);
            assertThat(deliveryCounts(b)).containsExactly((short) 1);
            ackAll(c, b, AcknowledgeType.ACCEPT);
            assertCommitOk(c.commitSync());
        }
    }

    /**
     * Lock 1 s (group share.record.lock.duration.ms; the shared test broker lowers the broker minimum to
     * 1 s), a 3 s job, RENEW + commitSync + poll every ~0.5 s: the record stays at deliveryCount 1, a second
     * consumer of the group never gets it, and the final ACCEPT commits cleanly.
     */
    @Test
    void renewAndCommitSyncEveryHalfLockKeepsA3xLockJobAtDeliveryCount1() throws Exception {
        assumeFalse(SharedKafka.isExternal(), "needs group.share.min.record.lock.duration.ms <= 1000");
        String group = KafkaTestSupport.uniqueName("g");
        String topic = topic(group, Map.of("share.record.lock.duration.ms", "1000"), "long-job");
        try (KafkaShareConsumer<String, String> worker = shareConsumer(bootstrap, group, 1);
             KafkaShareConsumer<String, String> other = shareConsumer(bootstrap, group, 1)) {
            worker.subscribe(List.of(topic));
            other.subscribe(List.of(topic));
            ConsumerRecords<String, String> b = pollUntilRecords(worker, Duration.ofSeconds(15));
            assertThat(worker.acquisitionLockTimeoutMs()).contains(1000);
            long start = System.nanoTime();
            int renewals = 0;
            List<Long> otherGot = new ArrayList<>();
            while (System.nanoTime() - start < Duration.ofMillis(3000).toNanos()) {
                Thread.sleep(450);
                ackAll(worker, b, AcknowledgeType.RENEW);
                assertCommitOk(worker.commitSync());
                renewals++;
                b = worker.poll(Duration.ofMillis(500));
                assertThat(offsets(b)).containsExactly(0L);
                assertThat(deliveryCounts(b)).containsExactly((short) 1);
                ConsumerRecords<String, String> o = other.poll(Duration.ofMillis(20));
                o.forEach(r -> otherGot.add(r.offset()));
                ackAll(other, o, AcknowledgeType.RELEASE);
            }
            ackAll(worker, b, AcknowledgeType.ACCEPT);
            assertCommitOk(worker.commitSync());
            measure("3 s job on a 1 s lock: renewals, other consumer got",
                    renewals + ", " + otherGot + " (job took " + (System.nanoTime() - start) / 1_000_000 + " ms)");
            assertThat(otherGot).isEmpty();
            ConsumerRecords<String, String> after = other.poll(Duration.ofMillis(1200));
            assertThat(after).as("accepted: never redelivered").isEmpty();
        }
    }

    /**
     * The control: hold a record without renewing and another consumer gets it after the lock (1 s) with
     * deliveryCount 2; the first holder's late ACCEPT, while the other consumer holds the record, fails
     * in commitSync with InvalidRecordStateException.
     */
    @Test
    void withoutRenewTheLockExpiresAnotherConsumerGetsTheRecordAndTheLateAcceptFails() {
        assumeFalse(SharedKafka.isExternal(), "needs group.share.min.record.lock.duration.ms <= 1000");
        String group = KafkaTestSupport.uniqueName("g");
        String topic = topic(group, Map.of("share.record.lock.duration.ms", "1000"), "stuck-job");
        try (KafkaShareConsumer<String, String> hung = shareConsumer(bootstrap, group, 1);
             KafkaShareConsumer<String, String> other = shareConsumer(bootstrap, group, 1)) {
            hung.subscribe(List.of(topic));
            other.subscribe(List.of(topic));
            ConsumerRecords<String, String> held = pollUntilRecords(hung, Duration.ofSeconds(15));
            assertThat(deliveryCounts(held)).containsExactly((short) 1);
            long t0 = System.nanoTime();
            ConsumerRecords<String, String> stolen = pollUntilRecords(other, Duration.ofSeconds(10));
            measure("unrenewed 1 s lock: redelivered to another consumer after ms", (System.nanoTime() - t0) / 1_000_000);
            assertThat(offsets(stolen)).containsExactly(0L);
            assertThat(deliveryCounts(stolen)).containsExactly((short) 2);

            ackAll(hung, held, AcknowledgeType.ACCEPT);
            Map<TopicIdPartition, Optional<KafkaException>> late = hung.commitSync();
            assertThat(late.values()).singleElement().satisfies(e ->
                    assertThat(e).get().isInstanceOf(InvalidRecordStateException.class));

            ackAll(other, stolen, AcknowledgeType.ACCEPT);
            assertCommitOk(other.commitSync());
        }
    }

    /**
     * A pitfall: once another consumer has ACCEPTed the redelivered record, the first holder's late ACCEPT
     * reports NO error (commitSync maps the partition to Optional.empty). Success of a terminal ack does not
     * prove the lock was still held; only a failed RENEW/ACK does prove it was lost.
     */
    @Test
    void aLateAcceptAfterAnotherConsumerAcceptedTheRecordReportsNoError() {
        assumeFalse(SharedKafka.isExternal(), "needs group.share.min.record.lock.duration.ms <= 1000");
        String group = KafkaTestSupport.uniqueName("g");
        String topic = topic(group, Map.of("share.record.lock.duration.ms", "1000"), "job");
        try (KafkaShareConsumer<String, String> hung = shareConsumer(bootstrap, group, 1);
             KafkaShareConsumer<String, String> other = shareConsumer(bootstrap, group, 1)) {
            hung.subscribe(List.of(topic));
            other.subscribe(List.of(topic));
            ConsumerRecords<String, String> held = pollUntilRecords(hung, Duration.ofSeconds(15));
            ConsumerRecords<String, String> stolen = pollUntilRecords(other, Duration.ofSeconds(10));
            assertThat(deliveryCounts(stolen)).containsExactly((short) 2);
            ackAll(other, stolen, AcknowledgeType.ACCEPT);
            assertCommitOk(other.commitSync());

            ackAll(hung, held, AcknowledgeType.ACCEPT);
            assertCommitOk(hung.commitSync()); // silently "succeeds"
            assertThat(hung.poll(Duration.ofMillis(300))).isEmpty();
        }
    }

    /**
     * RENEW after the lock already expired fails in commitSync with InvalidRecordStateException, and the
     * record comes back (here to the same consumer, nobody else polling) with deliveryCount 2.
     */
    @Test
    void aRenewAfterTheLockExpiredFailsAndTheRecordIsRedelivered() throws Exception {
        assumeFalse(SharedKafka.isExternal(), "needs group.share.min.record.lock.duration.ms <= 1000");
        String group = KafkaTestSupport.uniqueName("g");
        String topic = topic(group, Map.of("share.record.lock.duration.ms", "1000"), "job");
        try (KafkaShareConsumer<String, String> c = shareConsumer(bootstrap, group, 1)) {
            c.subscribe(List.of(topic));
            ConsumerRecords<String, String> held = pollUntilRecords(c, Duration.ofSeconds(15));
            Thread.sleep(1400);
            ackAll(c, held, AcknowledgeType.RENEW);
            assertThat(c.commitSync().values()).singleElement().satisfies(e ->
                    assertThat(e).get().isInstanceOf(InvalidRecordStateException.class));
            ConsumerRecords<String, String> again = pollUntilRecords(c, Duration.ofSeconds(5));
            assertThat(offsets(again)).containsExactly(0L);
            assertThat(deliveryCounts(again)).containsExactly((short) 2);
            ackAll(c, again, AcknowledgeType.ACCEPT);
            assertCommitOk(c.commitSync());
        }
    }
}
