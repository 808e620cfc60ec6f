package io.promptfleet.kafka.embedded;

import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static io.promptfleet.kafka.embedded.TestClients.deliveryCounts;
import static io.promptfleet.kafka.embedded.TestClients.measure;
import static io.promptfleet.kafka.embedded.TestClients.produce;
import static io.promptfleet.kafka.embedded.TestClients.shareConsumer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A measurement, not part of the default run (CPU-heavy on 2 cores): what N share consumers of one group
 * in one JVM cost, each holding one record of one partition (the "one consumer per stream" design).
 * Run: mvn -o -pl embedded-kafka test -Dtest=ManyShareConsumersTest -Dpromptfleet.measure=true
 */
@EnabledIfSystemProperty(named = "promptfleet.measure", matches = "true")
class ManyShareConsumersTest {

    @Test
    void fiftyConsumersEachHoldingOneRecord() {
        String bootstrap = SharedKafka.bootstrapServers();
        String topic = KafkaTestSupport.uniqueName("many");
        String group = KafkaTestSupport.uniqueName("g");
        KafkaTestSupport.createTopics(bootstrap, 1, topic);
        KafkaTestSupport.setShareGroupAutoOffsetResetEarliest(bootstrap, group);
        int n = Integer.getInteger("promptfleet.measure.consumers", 50);
        String[] values = new String[n];
        for (int i = 0; i < n; i++) {
            values[i] = "v" + i;
        }
        produce(bootstrap, topic, values);
        System.gc();
        Runtime rt = Runtime.getRuntime();
        long heap0 = rt.totalMemory() - rt.freeMemory();
        int threads0 = Thread.activeCount();
        long t0 = System.nanoTime();
        List<KafkaShareConsumer<String, String>> consumers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            KafkaShareConsumer<String, String> c = shareConsumer(bootstrap, group, 1);
            c.subscribe(List.of(topic));
            consumers.add(c);
        }
        List<ConsumerRecords<String, String>> held = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            held.add(null);
        }
        int got = 0;
        int redelivered = 0;
        long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        while (got < n && System.nanoTime() < deadline) {
            for (int i = 0; i < n; i++) {
                if (held.get(i) == null) {
                    ConsumerRecords<String, String> r = consumers.get(i).poll(Duration.ofMillis(20));
                    if (!r.isEmpty()) {
                        held.set(i, r);
                        got++;
                        redelivered += deliveryCounts(r).get(0) > 1 ? 1 : 0;
                    }
                }
            }
        }
        measure(n + " consumers: all holding a record after ms", (System.nanoTime() - t0) / 1_000_000
                + " (got " + got + ", of which redelivered after a lock expiry: " + redelivered + ")");
        System.gc();
        measure(n + " consumers: threads added", Thread.activeCount() - threads0);
        measure(n + " consumers: heap added MB", ((rt.totalMemory() - rt.freeMemory()) - heap0) / 1024 / 1024);
        long t1 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            KafkaShareConsumer<String, String> c = consumers.get(i);
            if (held.get(i) != null) {
                held.get(i).forEach(r -> c.acknowledge(r, AcknowledgeType.ACCEPT));
            }
            c.commitSync();
        }
        consumers.parallelStream().forEach(KafkaShareConsumer::close);
        measure(n + " consumers: ack + close ms", (System.nanoTime() - t1) / 1_000_000);
        assertThat(got).isEqualTo(n);
    }
}
