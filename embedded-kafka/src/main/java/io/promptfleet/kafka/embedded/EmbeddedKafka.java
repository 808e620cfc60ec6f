package io.promptfleet.kafka.embedded;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A single-node KRaft Kafka (broker and controller in one server) running in this JVM.
 *
 * <pre>{@code
 * try (EmbeddedKafka kafka = EmbeddedKafka.builder().port(0).start()) {
 *     String bootstrap = kafka.bootstrapServers();   // "127.0.0.1:<port>"
 * }
 * }</pre>
 *
 * <p>{@link #start()} returns only once the broker answers an Admin {@code describeCluster}; it throws
 * {@link PortInUseException} at once if the listener port is taken, and {@link EmbeddedKafkaException}
 * if the broker does not come up within the startup timeout. {@link #close()} stops the broker and
 * deletes the data directory if this object created it (a directory given by the caller is kept, so a
 * later broker on the same directory finds its topics and records again).
 *
 * <p>Thread-safe: {@code start} and {@code close} are serialized; a closed instance cannot be restarted.
 */
public final class EmbeddedKafka implements AutoCloseable {

    /** The port used when none is given. */
    public static final int DEFAULT_PORT = 9092;
    /** The host used when none is given. */
    public static final String DEFAULT_HOST = "127.0.0.1";
    /** How long {@link #start()} waits for the broker by default. */
    public static final Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofSeconds(60);

    /** Properties that this class derives itself; callers may not override them. */
    static final Set<String> RESERVED_PROPERTIES = Set.of(
            "process.roles", "node.id", "controller.quorum.voters", "controller.quorum.bootstrap.servers",
            "listeners", "advertised.listeners", "controller.listener.names", "inter.broker.listener.name",
            "listener.security.protocol.map", "log.dirs", "log.dir", "metadata.log.dir");

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);
    private static final String LOG_DIR_NAME = "kraft-logs";
    private static final String CONFIG_FILE_NAME = "server.properties";

    private enum State { NEW, STARTING, RUNNING, CLOSED }

    private final Path givenDataDir;
    private final int requestedPort;
    private final String host;
    private final int defaultPartitions;
    private final Map<String, String> extraProperties;
    private final Duration startupTimeout;
    private final int nodeId;
    private final int requestedControllerPort;
    private final String quorumVoters;
    private final String givenClusterId;

    private State state = State.NEW;
    private volatile String bootstrapServers;
    private volatile int port = -1;
    private volatile int controllerPort = -1;
    private volatile Path dataDir;
    private volatile String clusterId;
    private boolean deleteDataDirOnClose;
    private KafkaRaftServer server;

    private EmbeddedKafka(Builder b) {
        this.givenDataDir = b.dataDir;
        this.requestedPort = b.port;
        this.host = b.host;
        this.defaultPartitions = b.defaultPartitions;
        this.extraProperties = Map.copyOf(b.brokerProperties);
        this.startupTimeout = b.startupTimeout;
        this.nodeId = b.nodeId;
        this.requestedControllerPort = b.controllerPort;
        this.quorumVoters = b.quorumVoters;
        this.givenClusterId = b.clusterId;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Formats the storage (if needed), starts the broker and waits until it accepts requests.
     * Calling it again on a running broker does nothing.
     *
     * @return this, for chaining
     * @throws PortInUseException    if the listener port is already taken
     * @throws EmbeddedKafkaException if the broker cannot be formatted or started, or is not ready in time
     * @throws IllegalStateException if this instance was closed
     */
    public synchronized EmbeddedKafka start() {
        if (state == State.RUNNING) {
            return this;
        }
        if (state != State.NEW) {
            throw new IllegalStateException("This EmbeddedKafka was closed; build a new one");
        }
        state = State.STARTING;
        long t0 = System.nanoTime();
        try {
            // Retry only when the port was chosen by us and someone grabbed it between probe and bind.
            int attempts = requestedPort == 0 ? 3 : 1;
            for (int attempt = 1; ; attempt++) {
                try {
                    startOnce();
                    break;
                } catch (PortInUseException e) {
                    if (attempt >= attempts) {
                        throw e;
                    }
                    LOG.info("Free port {} was taken before the broker bound it; trying other ports", e.port());
                }
            }
            state = State.RUNNING;
            LOG.info("Embedded Kafka ready at {} in {} ms (data dir {})", bootstrapServers,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), dataDir);
            return this;
        } catch (RuntimeException | Error e) {
            state = State.CLOSED;
            deleteOwnedDataDir();
            throw e;
        }
    }

    private void startOnce() {
        InetAddress address = resolve(host);
        int brokerPort = requestedPort == 0 ? freePort(address) : requestedPort;
        // Fail fast, before touching any directory, if the port is taken.
        ensurePortFree(address, brokerPort);
        int ctrlPort = requestedControllerPort == 0 ? freePort(address, brokerPort) : requestedControllerPort;

        Path dir = prepareDataDir();
        Path logDir = dir.resolve(LOG_DIR_NAME);
        String id = existingClusterId(logDir);
        if (id != null && givenClusterId != null && !id.equals(givenClusterId)) {
            throw new EmbeddedKafkaException("The data directory " + dir + " belongs to cluster " + id
                    + ", not to the cluster " + givenClusterId + " this broker was asked to join");
        }
        if (id == null) {
            id = givenClusterId != null ? givenClusterId : Uuid.randomUuid().toString();
        }
        Properties props = serverProperties(brokerPort, ctrlPort, logDir);
        Path configFile = dir.resolve(CONFIG_FILE_NAME);
        writeProperties(props, configFile);
        format(id, configFile);

        KafkaRaftServer raftServer;
        try {
            raftServer = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
        } catch (RuntimeException e) {
            throw new EmbeddedKafkaException("Invalid embedded Kafka configuration: " + e.getMessage(), e);
        }
        String bootstrap = host + ":" + brokerPort;
        try {
            raftServer.startup();
        } catch (Throwable e) {
            stopQuietly(raftServer);
            if (isBindFailure(e)) {
                throw new PortInUseException(host, brokerPort, e);
            }
            throw new EmbeddedKafkaException("The embedded Kafka broker failed to start: " + e, e);
        }
        try {
            awaitReady(bootstrap);
        } catch (RuntimeException e) {
            stopQuietly(raftServer);
            throw e;
        }
        this.server = raftServer;
        this.port = brokerPort;
        this.controllerPort = ctrlPort;
        this.clusterId = id;
        this.bootstrapServers = bootstrap;
    }

    private Properties serverProperties(int brokerPort, int ctrlPort, Path logDir) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("process.roles", "broker,controller");
        p.put("node.id", Integer.toString(nodeId));
        p.put("controller.quorum.voters", quorumVoters != null ? quorumVoters : nodeId + "@" + host + ":" + ctrlPort);
        p.put("listeners", "PLAINTEXT://" + host + ":" + brokerPort + ",CONTROLLER://" + host + ":" + ctrlPort);
        p.put("advertised.listeners", "PLAINTEXT://" + host + ":" + brokerPort);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("log.dirs", logDir.toAbsolutePath().toString());
        p.putAll(defaultBrokerProperties(defaultPartitions));
        p.putAll(extraProperties);
        Properties props = new Properties();
        props.putAll(p);
        return props;
    }

    /**
     * The tunable defaults this class applies (before the caller's extra properties): a single node's
     * replication factors, small internal topics, a 2 MiB cleaner buffer, and fast group heartbeats.
     */
    public static Map<String, String> defaultBrokerProperties(int defaultPartitions) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("num.partitions", Integer.toString(defaultPartitions));
        p.put("default.replication.factor", "1");
        p.put("auto.create.topics.enable", "false");
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "1");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "1");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("share.coordinator.state.topic.num.partitions", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        // The default 128 MiB dedupe buffer costs 128 MiB of heap per broker.
        p.put("log.cleaner.dedupe.buffer.size", "2097152");
        // New members join within about a second instead of 5-7 s.
        p.put("group.share.min.heartbeat.interval.ms", "500");
        p.put("group.share.heartbeat.interval.ms", "500");
        p.put("group.consumer.min.heartbeat.interval.ms", "500");
        p.put("group.consumer.heartbeat.interval.ms", "500");
        // A new share consumer gets its first record in ~0.2 s instead of ~1.2 s (default 1000 ms).
        p.put("group.share.assignment.interval.ms", "100");
        p.put("group.consumer.assignment.interval.ms", "100");
        return p;
    }

    private void awaitReady(String bootstrap) {
        long deadline = System.nanoTime() + startupTimeout.toNanos();
        Properties adminProps = new Properties();
        adminProps.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        adminProps.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        adminProps.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
        adminProps.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "50");
        adminProps.put(AdminClientConfig.CLIENT_ID_CONFIG, "embedded-kafka-readiness");
        Exception last = null;
        try (Admin admin = Admin.create(adminProps)) {
            while (System.nanoTime() < deadline) {
                try {
                    if (!admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).isEmpty()) {
                        return;
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new EmbeddedKafkaException("Interrupted while waiting for the embedded Kafka broker", e);
                } catch (Exception e) {
                    last = e;
                }
                sleep(100);
            }
        }
        throw new EmbeddedKafkaException("The embedded Kafka broker at " + bootstrap
                + " did not accept requests within " + startupTimeout.toSeconds() + " s"
                + (last == null ? "" : " (last error: " + last + ")"), last);
    }

    private void format(String id, Path configFile) {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        int code;
        try (PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8)) {
            code = StorageTool.execute(new String[] {
                "format", "-t", id, "-c", configFile.toString(), "--ignore-formatted"}, out);
        } catch (Exception e) {
            throw new EmbeddedKafkaException("Formatting the embedded Kafka storage in " + configFile.getParent()
                    + " failed: " + e.getMessage() + output(buffer), e);
        }
        if (code != 0) {
            throw new EmbeddedKafkaException("Formatting the embedded Kafka storage in " + configFile.getParent()
                    + " failed with code " + code + output(buffer));
        }
        LOG.debug("Storage format: {}", buffer.toString(StandardCharsets.UTF_8).trim());
    }

    private static String output(ByteArrayOutputStream buffer) {
        String s = buffer.toString(StandardCharsets.UTF_8).trim();
        return s.isEmpty() ? "" : ": " + s;
    }

    private Path prepareDataDir() {
        if (dataDir != null) {
            return dataDir; // a retry after a port race keeps the same directory
        }
        try {
            Path dir;
            if (givenDataDir != null) {
                dir = Files.createDirectories(givenDataDir.toAbsolutePath());
                deleteDataDirOnClose = false;
            } else {
                dir = Files.createTempDirectory("embedded-kafka-");
                deleteDataDirOnClose = true;
            }
            dataDir = dir;
            return dir;
        } catch (IOException e) {
            throw new EmbeddedKafkaException("Cannot create the embedded Kafka data directory "
                    + (givenDataDir == null ? "(temporary)" : givenDataDir) + ": " + e, e);
        }
    }

    private static String existingClusterId(Path logDir) {
        Path meta = logDir.resolve("meta.properties");
        if (!Files.isRegularFile(meta)) {
            return null;
        }
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(meta)) {
            p.load(in);
        } catch (IOException e) {
            return null;
        }
        String id = p.getProperty("cluster.id");
        return id == null || id.isBlank() ? null : id.trim();
    }

    private static void writeProperties(Properties props, Path file) {
        try (OutputStream out = Files.newOutputStream(file)) {
            props.store(out, "Written by promptfleet EmbeddedKafka");
        } catch (IOException e) {
            throw new EmbeddedKafkaException("Cannot write " + file + ": " + e, e);
        }
    }

    /** Stops the broker and, if this object created the data directory, deletes it. Idempotent. */
    @Override
    public synchronized void close() {
        if (state == State.CLOSED) {
            return;
        }
        state = State.CLOSED;
        KafkaRaftServer s = server;
        server = null;
        if (s != null) {
            long t0 = System.nanoTime();
            stopQuietly(s);
            LOG.info("Embedded Kafka at {} stopped in {} ms", bootstrapServers,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        }
        deleteOwnedDataDir();
    }

    private static void stopQuietly(KafkaRaftServer s) {
        try {
            s.shutdown();
            s.awaitShutdown();
        } catch (Throwable t) {
            LOG.warn("Error while stopping the embedded Kafka broker", t);
        }
    }

    private void deleteOwnedDataDir() {
        Path dir = dataDir;
        if (dir != null && deleteDataDirOnClose) {
            deleteRecursively(dir);
        }
    }

    /** Deletes a directory tree; a failure is logged, not thrown (a leftover temp dir harms no test). */
    static void deleteRecursively(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("Could not delete the Kafka data directory {}: {}", dir, e.toString());
        }
    }

    /** {@code host:port} of the PLAINTEXT listener, e.g. {@code 127.0.0.1:9092}. */
    public String bootstrapServers() {
        String b = bootstrapServers;
        if (b == null) {
            throw new IllegalStateException("The embedded Kafka broker has not been started");
        }
        return b;
    }

    /** The broker (PLAINTEXT) port; known once started. */
    public int port() {
        requireStarted();
        return port;
    }

    /** The controller (KRaft) port; known once started. */
    public int controllerPort() {
        requireStarted();
        return controllerPort;
    }

    /** The data directory (server.properties and the {@code kraft-logs} log dir); known once started. */
    public Path dataDir() {
        requireStarted();
        return dataDir;
    }

    /** The cluster id written to (or read back from) the storage; known once started. */
    public String clusterId() {
        requireStarted();
        return clusterId;
    }

    public String host() {
        return host;
    }

    public synchronized boolean isRunning() {
        return state == State.RUNNING;
    }

    private void requireStarted() {
        if (bootstrapServers == null) {
            throw new IllegalStateException("The embedded Kafka broker has not been started");
        }
    }

    @Override
    public String toString() {
        return "EmbeddedKafka[" + (bootstrapServers == null ? "not started" : bootstrapServers) + "]";
    }

    // ---- ports ---------------------------------------------------------------------------------------

    private static InetAddress resolve(String host) {
        try {
            return InetAddress.getByName(host);
        } catch (IOException e) {
            throw new EmbeddedKafkaException("Cannot resolve the embedded Kafka host '" + host + "': " + e, e);
        }
    }

    /** A port that was free on {@code address} a moment ago (bind to port 0 and release). */
    static int freePort(InetAddress address, int... avoid) {
        for (int i = 0; i < 10; i++) {
            try (ServerSocket socket = new ServerSocket(0, 1, address)) {
                int p = socket.getLocalPort();
                boolean clash = false;
                for (int a : avoid) {
                    clash |= a == p;
                }
                if (!clash) {
                    return p;
                }
            } catch (IOException e) {
                throw new EmbeddedKafkaException("Cannot find a free port on " + address + ": " + e, e);
            }
        }
        throw new EmbeddedKafkaException("Cannot find a free port on " + address);
    }

    private void ensurePortFree(InetAddress address, int p) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true); // as the broker's own listener does; TIME_WAIT is not "in use"
            socket.bind(new InetSocketAddress(address, p), 1);
        } catch (BindException e) {
            throw new PortInUseException(host, p, e);
        } catch (IOException e) {
            throw new EmbeddedKafkaException("Cannot bind " + host + ":" + p + ": " + e, e);
        }
    }

    private static boolean isBindFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BindException) {
                return true;
            }
            String m = t.getMessage();
            if (m != null && m.contains("Address already in use")) {
                return true;
            }
        }
        return false;
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EmbeddedKafkaException("Interrupted while waiting for Kafka", e);
        }
    }

    /** Refuses a null key or value and the keys this class derives itself. */
    static void checkBrokerProperty(String key, String value) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        if (RESERVED_PROPERTIES.contains(key)) {
            throw new IllegalArgumentException("The broker property '" + key
                    + "' is set by EmbeddedKafka itself; use the builder options instead");
        }
    }

    /** Options for an {@link EmbeddedKafka}; every one has a default. */
    public static final class Builder {
        private Path dataDir;
        private int port = DEFAULT_PORT;
        private String host = DEFAULT_HOST;
        private int defaultPartitions = 1;
        private final Map<String, String> brokerProperties = new LinkedHashMap<>();
        private Duration startupTimeout = DEFAULT_STARTUP_TIMEOUT;
        private int nodeId = 1;
        private int controllerPort;
        private String quorumVoters;
        private String clusterId;

        private Builder() {
        }

        /** {@code node.id}; default 1. A member of a cluster ({@link KafkaCluster}) has its own. */
        public Builder nodeId(int nodeId) {
            if (nodeId < 0) {
                throw new IllegalArgumentException("node id must be >= 0: " + nodeId);
            }
            this.nodeId = nodeId;
            return this;
        }

        /** The CONTROLLER listener port; default 0, a free port. A cluster's voters need it fixed. */
        public Builder controllerPort(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("controller port must be 0..65535: " + port);
            }
            this.controllerPort = port;
            return this;
        }

        /**
         * {@code controller.quorum.voters} of a multi-node quorum, e.g. {@code 1@127.0.0.1:9301,2@...}; it must name
         * this node with its controller port. Default: this node alone.
         */
        public Builder controllerQuorumVoters(String voters) {
            if (voters != null && voters.isBlank()) {
                throw new IllegalArgumentException("controller quorum voters must not be blank");
            }
            this.quorumVoters = voters;
            return this;
        }

        /**
         * The cluster id to format a new data directory with (every node of a cluster needs the same one);
         * a directory formatted for another cluster is refused. Default: a random id for a new directory.
         */
        public Builder clusterId(String clusterId) {
            this.clusterId = clusterId;
            return this;
        }

        /** Where to keep the data; kept on close. Default: a fresh temp dir, deleted on close. */
        public Builder dataDir(Path dataDir) {
            this.dataDir = dataDir;
            return this;
        }

        /** The PLAINTEXT listener port; default 9092; 0 picks a free port. */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be 0..65535: " + port);
            }
            this.port = port;
            return this;
        }

        /** The address both listeners bind to and advertise; default 127.0.0.1. */
        public Builder host(String host) {
            this.host = Objects.requireNonNull(host, "host");
            return this;
        }

        /** {@code num.partitions} for topics created without a count; default 1. */
        public Builder defaultPartitions(int partitions) {
            if (partitions < 1) {
                throw new IllegalArgumentException("partitions must be >= 1: " + partitions);
            }
            this.defaultPartitions = partitions;
            return this;
        }

        /** One extra broker property; overrides this class's defaults. Listener/role/dir keys are reserved. */
        public Builder brokerProperty(String key, String value) {
            checkBrokerProperty(key, value);
            brokerProperties.put(key, value);
            return this;
        }

        /** Extra broker properties; see {@link #brokerProperty(String, String)}. */
        public Builder brokerProperties(Map<String, String> properties) {
            properties.forEach(this::brokerProperty);
            return this;
        }

        /** How long {@link EmbeddedKafka#start()} waits for the broker; default 60 s. */
        public Builder startupTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("startup timeout must be positive: " + timeout);
            }
            this.startupTimeout = timeout;
            return this;
        }

        public EmbeddedKafka build() {
            return new EmbeddedKafka(this);
        }

        /** {@code build().start()}. */
        public EmbeddedKafka start() {
            return build().start();
        }
    }
}
