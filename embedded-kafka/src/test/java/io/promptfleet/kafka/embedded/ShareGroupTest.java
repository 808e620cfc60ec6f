package io.promptfleet.kafka.embedded;

import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static io.promptfleet.kafka.embedded.TestClients.deliveryCounts;
import static io.promptfleet.kafka.embedded.TestClients.measure;
import static io.promptfleet.kafka.embedded.TestClients.offsets;
import static io.promptfleet.kafka.embedded.TestClients.pollUntilRecords;
import static io.promptfleet.kafka.embedded.TestClients.produce;
import static io.promptfleet.kafka.embedded.TestClients.producer;
import static io.promptfleet.kafka.embedded.TestClients.shareConsumer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Share groups (KIP-932) on the 4.4.0 broker: explicit acknowledgement, record_limit acquisition. */
class ShareGroupTest {

    private final String bootstrap = SharedKafka.bootstrapServers();

    private String topicWithEarliestGroup(String group, String... values) {
        String topic = KafkaTestSupport.uniqueName("share");
        KafkaTestSupport.createTopics(bootstrap, 1, topic);
        KafkaTestSupport.setShareGroupAutoOffsetResetEarliest(bootstrap, group);
        produce(bootstrap, topic, values);
        return topic;
    }

    @Test
    void recordsAlreadyInTheTopicAreDeliveredAfterResetEarliestAndAcceptedOnesAreNotRedelivered() {
        String group = KafkaTestSupport.uniqueName("g");
        String topic = topicWithEarliestGroup(group, "a", "b", "c");
        try (KafkaShareConsumer<String, String> c = shareConsumer(bootstrap, group, 10)) {
            c.subscribe(List.of(topic));
            List<String> values = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            while (values.size() < 3 && System.nanoTime() < deadline) {
                ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(200));
                for (ConsumerRecord<String, String> r : recs) {
                    values.add(r.value());
                    assertThat(r.deliveryCount()).contains((short) 1);
                    c.acknowledge(r, AcknowledgeType.ACCEPT);
                }
                if (!recs.isEmpty()) {
                    assertThat(c.commitSync().values()).allSatisfy(e -> assertThat(e).isEmpty());
                }
            }
            assertThat(values).containsExactly("a", "b", "c");
            assertThat(c.poll(Duration.ofMillis(500))).isEmpty();
        }
    }

    @Test
    void withoutResetEarliestRecordsAlreadyInTheTopicAreSkipped() {
        String group = KafkaTestSupport.uniqueName("g");
        String topic = KafkaTestSupport.uniqueName("share-latest");
        KafkaTestSupport.createTopics(bootstrap, 1, topic);
        produce(bootstrap, topic, "old");
        try (KafkaShareConsumer<String, String> c = shareConsumer(bootstrap, group, 10);
             KafkaProducer<String, String> p = producer(bootstrap)) {
            c.subscribe(List.of(topic));
            List<String> seen = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            for (int i = 0; seen.isEmpty() && System.nanoTime() < deadline; i++) {
                p.send(new ProducerRecord<>(topic, 0, "new", "new-" + i));
                ConsumerRecords<String, String> recs = c.poll(Duration.ofMillis(200));
                for (ConsumerRecord<String, String> r : recs) {
                    seen.add(r.value());
                    c.acknowledge(r, AcknowledgeType.ACCEPT);
                }
            }
            c.commitSync();
            assertThat(seen).isNotEmpty().noneMatch("old"::equals).allMatch(v -> v.startsWith("new-"));
        }
    }

    @Test
    void releaseRedeliversTheRecordWithDeliveryCount2() {
        String group = KafkaTestSupport.uniqueName("g");
        String topic = topicWithEarliestGroup(group, "job");
        try (KafkaShareConsumer<String, String> c = shareConsumer(bootstrap, group, 1)) {
            c.subscribe(List.of(topic));
            ConsumerRecords<String, String> first = pollUntilRecords(c, Duration.ofSeconds(15));
            assertThat(deliveryCounts(first)).containsExactly((short) 1);
            first.forEach(r -> c.acknowledge(r, AcknowledgeType.RELEASE));
            c.commitSync();
            long t0 = System.nanoTime();
            ConsumerRecords<String, String> again = pollUntilRecords(c, Duration.ofSeconds(10));
            measure("RELEASE -> redelivered ms", (System.nanoTime() - t0) / 1_000_000);
            assertThat(offsets(again)).isEqualTo(offsets(first));
            assertThat(deliveryCounts(again)).containsExactly((short) 2);
            again.forEach(r -> c.acknowledge(r, AcknowledgeType.ACCEPT));
            c.commitSync();
        }
    }

    @Test
    void pollThrowsWhileAnyRecordOfThePreviousBatchIsUnacknowledged() {
        String group = KafkaTestSupport.uniqueName("g");
        String topic = topicWithEarliestGroup(group, "r0", "r1", "r2");
        try (KafkaShareConsumer<String, String> c = shareConsumer(bootstrap, group, 2)) {
            c.subscribe(List.of(topic));
            ConsumerRecords<String, String> batch = pollUntilRecords(c, Duration.ofSeconds(15));
            assertThat(offsets(batch)).containsExactly(0L, 1L); // record_limit: max.poll.records caps the batch
            List<ConsumerRecord<String, String>> recs = new ArrayList<>();
            batch.forEach(recs::add);
            c.acknowledge(recs.get(0), AcknowledgeType.ACCEPT);
            assertThatThrownBy(() -> c.poll(Duration.ofMillis(100)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("All records must be acknowledged in explicit acknowledgement mode.");
            c.acknowledge(recs.get(1), AcknowledgeType.ACCEPT);
            c.commitSync();
            assertThat(offsets(pollUntilRecords(c, Duration.ofSeconds(10)))).containsExactly(2L);
        }
    }

    @Test
    void aNewShareConsumerGetsARecordWithinAboutASecond() throws Exception {
        // Warm up: the first share group on a fresh broker also creates the share-state topic (~2 s).
        String warmGroup = KafkaTestSupport.uniqueName("g");
        String warmTopic = topicWithEarliestGroup(warmGroup, "warm");
        try (KafkaShareConsumer<String, String> c = shareConsumer(bootstrap, warmGroup, 1)) {
            c.subscribe(List.of(warmTopic));
            pollUntilRecords(c, Duration.ofSeconds(20)).forEach(r -> c.acknowledge(r, AcknowledgeType.ACCEPT));
            c.commitSync();
        }
        String group = KafkaTestSupport.uniqueName("g");
        String topic = topicWithEarliestGroup(group);
        try (KafkaProducer<String, String> p = producer(bootstrap);
             KafkaShareConsumer<String, String> c = shareConsumer(bootstrap, group, 1)) {
            p.partitionsFor(topic);
            long t0 = System.nanoTime();
            c.subscribe(List.of(topic));
            p.send(new ProducerRecord<>(topic, 0, "k", "first")).get();
            ConsumerRecords<String, String> first = pollUntilRecords(c, Duration.ofSeconds(10));
            long newConsumerMs = (System.nanoTime() - t0) / 1_000_000;
            measure("new share consumer: subscribe+produce -> first record ms", newConsumerMs);
            assertThat(first).hasSize(1);
            first.forEach(r -> c.acknowledge(r, AcknowledgeType.ACCEPT));
            c.commitSync();
            assertThat(newConsumerMs).isLessThan(3000);

            long[] micros = new long[20];
            for (int i = 0; i < micros.length; i++) {
                long s = System.nanoTime();
                p.send(new ProducerRecord<>(topic, 0, "k", "v" + i)).get();
                ConsumerRecords<String, String> recs = pollUntilRecords(c, Duration.ofSeconds(5));
                micros[i] = (System.nanoTime() - s) / 1000;
                assertThat(recs).hasSize(1);
                recs.forEach(r -> c.acknowledge(r, AcknowledgeType.ACCEPT));
                c.commitSync();
            }
            Arrays.sort(micros);
            measure("joined share consumer: produce(acks=all) -> poll p50/max ms",
                    micros[10] / 1000.0 + " / " + micros[19] / 1000.0);
        }
    }
}
