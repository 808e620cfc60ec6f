package io.promptfleet.kafka.embedded;

import static io.promptfleet.kafka.embedded.TestClients.produce;
import static io.promptfleet.kafka.embedded.TestClients.shareConsumer;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.errors.GroupMaxSizeReachedException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * A measurement of 4.4.0, not part of the default run (it starts a broker of its own): what a share consumer sees
 * when its group is full. A share group holds at most {@code group.share.max.size} members (default 200, at most
 * 1,000, a broker setting); every worker lane is one member, so the fleet's lanes in all are bounded by it (the sizing
 * guide, docs/SIZING.md). Run: {@code mvn -o -pl embedded-kafka test -Dtest=ShareGroupSizeTest
 * -Dpromptfleet.measure=true}.
 */
@EnabledIfSystemProperty(named = "promptfleet.measure", matches = "true")
class ShareGroupSizeTest {

    @Test
    void aMemberBeyondTheGroupsMaximumIsRefusedOnEveryPoll() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().port(0)
                .brokerProperties(SharedKafka.testBrokerProperties())
                .brokerProperty("group.share.max.size", "2").start()) {
            String bootstrap = kafka.bootstrapServers();
            String topic = KafkaTestSupport.uniqueName("size");
            String group = KafkaTestSupport.uniqueName("g");
            KafkaTestSupport.createTopics(bootstrap, 1, topic);
            KafkaTestSupport.setShareGroupAutoOffsetResetEarliest(bootstrap, group);
            produce(bootstrap, topic, "a", "b", "c");
            List<KafkaShareConsumer<String, String>> members = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    KafkaShareConsumer<String, String> c = shareConsumer(bootstrap, group, 1);
                    c.subscribe(List.of(topic));
                    members.add(c);
                }
                List<String> seen = new ArrayList<>();
                for (int round = 0; round < 20; round++) {
                    for (int i = 0; i < members.size(); i++) {
                        try {
                            var recs = members.get(i).poll(Duration.ofMillis(200));
                            for (var r : recs) {
                                seen.add("member " + i + " got " + r.value());
                            }
                            final KafkaShareConsumer<String, String> c = members.get(i);
                            recs.forEach(r -> c.acknowledge(r));
                        } catch (RuntimeException e) {
                            seen.add("member " + i + " round " + round + ": " + e.getClass().getSimpleName() + ": "
                                    + e.getMessage());
                        }
                    }
                }
                seen.forEach(System.out::println);
                assertThat(seen).anySatisfy(s -> assertThat(s).contains(GroupMaxSizeReachedException.class
                        .getSimpleName()));
            } finally {
                members.forEach(c -> c.close(Duration.ofSeconds(2)));
            }
        }
    }
}
