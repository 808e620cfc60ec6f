package io.promptfleet.kafka.embedded;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Helpers for tests that talk to a real broker (usually {@link SharedKafka#bootstrapServers()}).
 * Every method opens and closes its own short-lived Admin client and waits at most 30 s.
 */
public final class KafkaTestSupport {

    private static final long TIMEOUT_SECONDS = 30;
    private static final AtomicLong COUNTER = new AtomicLong();

    private KafkaTestSupport() {
    }

    /** An Admin client for {@code bootstrap}; the caller closes it. */
    public static Admin admin(String bootstrap) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, uniqueName("test-admin"));
        return Admin.create(p);
    }

    /**
     * Creates the topics with {@code partitions} partitions and the broker's default replication factor.
     * Idempotent: a topic that exists already is left as it is (even with another partition count).
     */
    public static void createTopics(String bootstrap, int partitions, String... names) {
        List<NewTopic> topics = new ArrayList<>();
        for (String name : names) {
            topics.add(new NewTopic(name, Optional.of(partitions), Optional.empty()));
        }
        try (Admin admin = admin(bootstrap)) {
            CreateTopicsResult result = admin.createTopics(topics);
            for (Map.Entry<String, KafkaFuture<Void>> e : result.values().entrySet()) {
                try {
                    e.getValue().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                } catch (ExecutionException ex) {
                    if (!(ex.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("Cannot create topic " + e.getKey() + ": " + ex.getCause(), ex);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while creating topics", e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("Timed out creating topics on " + bootstrap, e);
        }
    }

    /**
     * Sets the share group's {@code share.auto.offset.reset=earliest}. Call it before the group's first
     * consumer joins: otherwise the group starts at the end of the log and skips the records already there.
     */
    public static void setShareGroupAutoOffsetResetEarliest(String bootstrap, String groupId) {
        alterGroupConfigs(bootstrap, groupId, Map.of("share.auto.offset.reset", "earliest"));
    }

    /**
     * Sets dynamic group configs (e.g. {@code share.record.lock.duration.ms}, {@code share.delivery.count.limit})
     * with {@code incrementalAlterConfigs} on the GROUP resource; the group need not exist yet.
     */
    public static void alterGroupConfigs(String bootstrap, String groupId, Map<String, String> configs) {
        ConfigResource group = new ConfigResource(ConfigResource.Type.GROUP, groupId);
        List<AlterConfigOp> ops = new ArrayList<>();
        configs.forEach((k, v) -> ops.add(new AlterConfigOp(new ConfigEntry(k, v), AlterConfigOp.OpType.SET)));
        try (Admin admin = admin(bootstrap)) {
            admin.incrementalAlterConfigs(Map.of(group, ops)).all().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while altering group configs", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("Cannot set " + configs + " on group " + groupId + ": " + e.getCause(),
                    e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("Timed out setting configs on group " + groupId, e);
        }
    }

    /** {@code prefix-<n>-<random hex>}: a topic or group name no other test in any JVM uses. */
    public static String uniqueName(String prefix) {
        return prefix + "-" + COUNTER.incrementAndGet() + "-"
                + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffffL);
    }
}
