package io.promptfleet.kafka.embedded;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class SharedKafkaTest {

    @Test
    void everyCallReturnsTheSameBroker() {
        String first = SharedKafka.bootstrapServers();
        assertThat(first).isNotBlank();
        assertThat(SharedKafka.bootstrapServers()).isSameAs(first);
        if (!SharedKafka.isExternal()) {
            assertThat(first).startsWith("127.0.0.1:");
        }
    }

    @Test
    void createTopicsIsIdempotentAndTheGroupConfigIsSet() throws Exception {
        String bootstrap = SharedKafka.bootstrapServers();
        String a = KafkaTestSupport.uniqueName("topic-a");
        String b = KafkaTestSupport.uniqueName("topic-b");
        KafkaTestSupport.createTopics(bootstrap, 2, a);
        KafkaTestSupport.createTopics(bootstrap, 2, a, b); // a exists already: ignored
        String group = KafkaTestSupport.uniqueName("group");
        KafkaTestSupport.setShareGroupAutoOffsetResetEarliest(bootstrap, group);
        try (Admin admin = KafkaTestSupport.admin(bootstrap)) {
            assertThat(admin.describeTopics(List.of(a, b)).allTopicNames().get(30, TimeUnit.SECONDS))
                    .allSatisfy((name, d) -> assertThat(d.partitions()).hasSize(2));
            ConfigResource res = new ConfigResource(ConfigResource.Type.GROUP, group);
            ConfigEntry reset = admin.describeConfigs(List.of(res)).all().get(30, TimeUnit.SECONDS)
                    .get(res).get("share.auto.offset.reset");
            assertThat(reset.value()).isEqualTo("earliest");
        }
    }

    @Test
    void uniqueNamesAreUnique() {
        Set<String> names = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            names.add(KafkaTestSupport.uniqueName("x"));
        }
        assertThat(names).hasSize(1000).allMatch(n -> n.startsWith("x-") && n.matches("[A-Za-z0-9._-]+"));
    }
}
