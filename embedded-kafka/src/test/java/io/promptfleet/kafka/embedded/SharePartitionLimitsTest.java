package io.promptfleet.kafka.embedded;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ShareGroupDescription;
import org.apache.kafka.clients.admin.ShareMemberDescription;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.promptfleet.kafka.embedded.TestClients.produce;
import static io.promptfleet.kafka.embedded.TestClients.shareConsumer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The two share-group facts (4.4.0) that size promptfleet's assignments topic (docs/DESIGN.md, "Fleet utilisation"):
 * members share partitions only when there are more members than partitions, and a share partition delivers only
 * within a window of {@code share.partition.max.record.locks} offsets from its oldest unfinished record.
 */
class SharePartitionLimitsTest {

    private final String bootstrap = SharedKafka.bootstrapServers();

    @Test
    void aSharePartitionDeliversNothingBeyondItsLockWindowWhileItsOldestRecordIsHeld() {
        String group = KafkaTestSupport.uniqueName("g");
        String topic = KafkaTestSupport.uniqueName("window");
        KafkaTestSupport.createTopics(bootstrap, 1, topic);
        KafkaTestSupport.alterGroupConfigs(bootstrap, group, Map.of("share.auto.offset.reset", "earliest",
                "share.partition.max.record.locks", "100"));
        String[] values = new String[300];
        for (int i = 0; i < values.length; i++) {
            values[i] = "v" + i;
        }
        produce(bootstrap, topic, values);
        try (KafkaShareConsumer<String, String> holder = shareConsumer(bootstrap, group, 1);
             KafkaShareConsumer<String, String> worker = shareConsumer(bootstrap, group, 50)) {
            holder.subscribe(List.of(topic));
            ConsumerRecord<String, String> held = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            while (held == null && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : holder.poll(Duration.ofMillis(200))) {
                    held = r;
                }
            }
            assertThat(held).as("the holder's one record").isNotNull();
            assertThat(held.offset()).isZero();

            worker.subscribe(List.of(topic));
            int whileHeld = drain(worker, Duration.ofSeconds(2), Integer.MAX_VALUE);
            assertThat(whileHeld).as("records delivered while offset 0 is held: the window is 100 offsets")
                    .isEqualTo(99);

            holder.acknowledge(held, AcknowledgeType.ACCEPT);
            holder.commitSync();
            int afterRelease = drain(worker, Duration.ofSeconds(10), 200);
            assertThat(afterRelease).as("the rest, once the oldest record is done").isEqualTo(200);
        }
    }

    /** Polls and accepts until {@code quiet} passes without a record or {@code enough} came; returns how many. */
    private static int drain(KafkaShareConsumer<String, String> c, Duration quiet, int enough) {
        int n = 0;
        long lastRecord = System.nanoTime();
        while (n < enough && System.nanoTime() - lastRecord < quiet.toNanos()) {
            ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(200));
            for (ConsumerRecord<String, String> r : recs) {
                c.acknowledge(r, AcknowledgeType.ACCEPT);
                n++;
            }
            if (!recs.isEmpty()) {
                c.commitSync();
                lastRecord = System.nanoTime();
            }
        }
        return n;
    }

    @Test
    void withMoreMembersThanPartitionsEachMemberGetsOnlySomeOfThem() throws Exception {
        String group = KafkaTestSupport.uniqueName("g");
        String topic = KafkaTestSupport.uniqueName("spread");
        KafkaTestSupport.createTopics(bootstrap, 2, topic);
        KafkaTestSupport.setShareGroupAutoOffsetResetEarliest(bootstrap, group);
        List<KafkaShareConsumer<String, String>> members = new ArrayList<>();
        try (Admin admin = KafkaTestSupport.admin(bootstrap)) {
            for (int i = 0; i < 4; i++) {
                KafkaShareConsumer<String, String> c = shareConsumer(bootstrap, group, 1);
                c.subscribe(List.of(topic));
                members.add(c);
            }
            List<Integer> perMember = List.of();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (System.nanoTime() < deadline) {
                members.forEach(c -> c.poll(Duration.ofMillis(50)));
                ShareGroupDescription d = admin.describeShareGroups(List.of(group)).all().get(30, TimeUnit.SECONDS)
                        .get(group);
                perMember = d.members().stream().map(ShareMemberDescription::assignment)
                        .map(a -> a.topicPartitions().size()).sorted().toList();
                // wait for the settled assignment: while members join, one may briefly hold both partitions
                if (perMember.equals(List.of(1, 1, 1, 1))) {
                    break;
                }
            }
            assertThat(perMember).as("partitions per member: 4 members share 2 partitions two each, "
                    + "so no member takes work from both").containsExactly(1, 1, 1, 1);
        } finally {
            members.forEach(KafkaShareConsumer::close);
        }
    }
}
