package io.promptfleet.kafka.embedded;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One Kafka broker for the whole test JVM.
 *
 * <p>If the system property {@value #BOOTSTRAP_PROPERTY} or the environment variable {@value #BOOTSTRAP_ENV}
 * is set and not blank, that external broker is used as it is. Else, with {@code -Dkafka.testcontainers=true}
 * (or {@code KAFKA_TESTCONTAINERS=true}) where a Docker engine exists, the first call starts the official
 * apache/kafka image with Testcontainers. Otherwise the first call starts an {@link EmbeddedKafka} on a free
 * port. Both get {@link #testBrokerProperties()}; a JVM shutdown hook stops them. Every later call returns the
 * same bootstrap address.
 */
public final class SharedKafka {

    /** System property naming an external broker, e.g. {@code -Dkafka.bootstrap=127.0.0.1:9092}. */
    public static final String BOOTSTRAP_PROPERTY = "kafka.bootstrap";
    /** Environment variable naming an external broker, used when the system property is blank. */
    public static final String BOOTSTRAP_ENV = "KAFKA_BOOTSTRAP";

    private static final Logger LOG = LoggerFactory.getLogger(SharedKafka.class);

    private static String bootstrap;
    private static EmbeddedKafka embedded;
    private static RuntimeException failure;

    private SharedKafka() {
    }

    /** The bootstrap servers of the shared broker, starting the embedded one on first use. */
    public static synchronized String bootstrapServers() {
        if (bootstrap != null) {
            return bootstrap;
        }
        if (failure != null) {
            throw new EmbeddedKafkaException("The shared embedded Kafka broker failed to start earlier: "
                    + failure.getMessage(), failure);
        }
        String external = externalBootstrap();
        if (external != null) {
            LOG.info("Tests use the external Kafka broker at {}", external);
            bootstrap = external;
            return bootstrap;
        }
        if (Boolean.getBoolean("kafka.testcontainers")
                || "true".equalsIgnoreCase(System.getenv("KAFKA_TESTCONTAINERS"))) {
            try {
                Map<String, String> props = new LinkedHashMap<>(testBrokerProperties());
                props.put("group.share.heartbeat.interval.ms", "500");
                props.put("group.share.min.heartbeat.interval.ms", "500");
                props.put("group.share.assignment.interval.ms", "100");
                bootstrap = ContainerBroker.start(props);
                LOG.info("Tests use a Kafka container at {}", bootstrap);
                return bootstrap;
            } catch (RuntimeException e) {
                failure = e;
                throw e;
            }
        }
        try {
            EmbeddedKafka kafka = EmbeddedKafka.builder()
                    .port(0)
                    .brokerProperties(testBrokerProperties())
                    .build();
            Runtime.getRuntime().addShutdownHook(new Thread(kafka::close, "shared-kafka-shutdown"));
            kafka.start();
            embedded = kafka;
            bootstrap = kafka.bootstrapServers();
            return bootstrap;
        } catch (RuntimeException e) {
            failure = e;
            throw e;
        }
    }

    /** True if the tests run against an external broker rather than the embedded one. */
    public static synchronized boolean isExternal() {
        return bootstrap != null ? embedded == null : externalBootstrap() != null;
    }

    /**
     * Broker properties the shared embedded broker adds to the {@link EmbeddedKafka} defaults, so tests may
     * set short share-group record locks (the production minimum is 15 s) and short session timeouts.
     * An external broker may not allow these values.
     */
    public static Map<String, String> testBrokerProperties() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("group.share.min.record.lock.duration.ms", "1000");
        p.put("group.share.min.session.timeout.ms", "2000");
        p.put("group.consumer.min.session.timeout.ms", "2000");
        return p;
    }

    private static String externalBootstrap() {
        String v = System.getProperty(BOOTSTRAP_PROPERTY);
        if (v == null || v.isBlank()) {
            v = System.getenv(BOOTSTRAP_ENV);
        }
        return v == null || v.isBlank() ? null : v.trim();
    }
}
