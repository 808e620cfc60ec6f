package io.promptfleet.kafka.embedded;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

/**
 * A replicated KRaft cluster of N nodes (3 by default), each a combined broker and controller in a child JVM of
 * its own ({@link EmbeddedKafkaMain}), so a test can SIGKILL, restart, SIGSTOP and SIGCONT one broker while its
 * clients run in this JVM.
 *
 * <pre>{@code
 * try (KafkaCluster cluster = KafkaCluster.builder().start()) {
 *     String bootstrap = cluster.bootstrapServers();     // "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3"
 *     int leader = cluster.leaderOf(new TopicPartition("t", 0)).orElseThrow();
 *     cluster.kill(leader);                                // kill -9
 *     cluster.restart(leader);                             // same ports, same data directory
 *     cluster.awaitHealthy(Duration.ofSeconds(30));        // every partition's ISR complete again
 * }
 * }</pre>
 *
 * <p>Every node is a controller voter (a quorum of 3 survives one lost node). With N ≥ 3 the cluster replicates
 * like a production one: {@code default.replication.factor} 3 and {@code min.insync.replicas} 2, and the same for
 * the internal topics (consumer offsets, transaction state, share-group state); with fewer nodes, the replication
 * factor is N and the minimum ISR N − 1 (at least 1). Brokers notice a dead peer within about 3 s
 * ({@code broker.session.timeout.ms} 3000) rather than the default 9 s, so a test's failover is quick. Each node
 * gets a small heap ({@code -Xmx256m}, {@code log.cleaner.dedupe.buffer.size} 2 MiB; see {@link
 * EmbeddedKafka#defaultBrokerProperties}). {@link Builder#brokerProperty} overrides any of these.
 *
 * <p>Node ids are 1..N. Each node keeps its ports and its data directory ({@code <dataDir>/node-<id>}, with its
 * standard error in {@code node-<id>.log}) for the life of the cluster, so a restarted node rejoins with its log.
 * {@link #close()} kills every node it started; so does a JVM shutdown hook, and a node whose parent dies (even by
 * SIGKILL) halts as soon as its standard input closes. A data directory the cluster created is deleted on close;
 * one given to the builder is kept.
 *
 * <p>Thread-safe: every method is synchronized. Node control uses {@code kill}, so it needs a POSIX system.
 */
public final class KafkaCluster implements AutoCloseable {

    /** Nodes when none are given. */
    public static final int DEFAULT_NODES = 3;
    /** How long starting (or restarting) a node may take by default. */
    public static final Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofSeconds(90);
    /**
     * Options of each node's JVM when none are given: a small heap, the serial collector, and the C1 compiler
     * only, which started three nodes on a loaded 2-core machine in about half the time (the brokers of a test
     * carry little load). A throughput benchmark should pass options without {@code -XX:TieredStopAtLevel=1}.
     */
    public static final List<String> DEFAULT_JVM_OPTIONS = List.of(
            "-Xms64m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:+ExitOnOutOfMemoryError");

    private static final Logger LOG = LoggerFactory.getLogger(KafkaCluster.class);
    private static final String HOST = EmbeddedKafka.DEFAULT_HOST;
    private static final int START_ATTEMPTS = 3;

    private enum NodeState { NEW, RUNNING, PAUSED, KILLED }

    private final int nodeCount;
    private final Path givenDataDir;
    private final int basePort;
    private final Map<String, String> brokerProperties;
    private final List<String> jvmOptions;
    private final String classpath;
    private final Duration startupTimeout;
    private final String clusterId = Uuid.randomUuid().toString();
    private final Map<Integer, Node> nodes = new TreeMap<>();
    /** The nodes' live JVMs, for the shutdown hook (which must not wait for the cluster's lock). */
    private final Set<Process> live = ConcurrentHashMap.newKeySet();
    private final Thread shutdownHook = new Thread(() -> live.forEach(Process::destroyForcibly),
            "kafka-cluster-shutdown");

    private Path dataDir;
    private boolean closed;
    private String bootstrapServers;
    private Admin admin;

    private KafkaCluster(Builder b) {
        this.nodeCount = b.nodes;
        this.givenDataDir = b.dataDir;
        this.basePort = b.basePort;
        this.brokerProperties = Map.copyOf(b.brokerProperties);
        this.jvmOptions = List.copyOf(b.jvmOptions);
        this.classpath = b.classpath != null ? b.classpath
                : System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        this.startupTimeout = b.startupTimeout;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * The properties every node gets on top of {@link EmbeddedKafka#defaultBrokerProperties}: replication of a
     * production cluster (factor {@code min(3, nodes)}, minimum ISR one less, at least 1) for user and internal
     * topics, and quick detection of a dead broker.
     */
    public static Map<String, String> replicatedBrokerProperties(int nodes) {
        String rf = Integer.toString(Math.min(3, nodes));
        String minIsr = Integer.toString(Math.max(1, Math.min(3, nodes) - 1));
        Map<String, String> p = new LinkedHashMap<>();
        p.put("default.replication.factor", rf);
        p.put("min.insync.replicas", minIsr);
        p.put("offsets.topic.replication.factor", rf);
        p.put("transaction.state.log.replication.factor", rf);
        p.put("transaction.state.log.min.isr", minIsr);
        p.put("share.coordinator.state.topic.replication.factor", rf);
        p.put("share.coordinator.state.topic.min.isr", minIsr);
        p.put("unclean.leader.election.enable", "false");
        // The controller fences a broker that missed heartbeats for this long (default 9 s, heartbeats every 2 s),
        // moving its partitions' leadership and shrinking their ISR.
        p.put("broker.session.timeout.ms", "3000");
        p.put("broker.heartbeat.interval.ms", "500");
        return p;
    }

    /**
     * Starts every node (in parallel: a node's broker waits for a controller quorum) and waits until all of them
     * answer and are registered. Calling it again on a started cluster does nothing.
     *
     * @throws EmbeddedKafkaException if a node does not start in time; every node started is killed again
     */
    public synchronized KafkaCluster start() {
        if (closed) {
            throw new IllegalStateException("This KafkaCluster was closed; build a new one");
        }
        if (bootstrapServers != null) {
            return this;
        }
        long t0 = System.nanoTime();
        dataDir = prepareDataDir();
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        for (int attempt = 1; ; attempt++) {
            try {
                startAll();
                break;
            } catch (PortInUseException e) {
                killAll();
                nodes.values().forEach(n -> EmbeddedKafka.deleteRecursively(n.dir));
                nodes.clear();
                if (basePort != 0 || attempt >= START_ATTEMPTS) {
                    close();
                    throw e;
                }
                LOG.info("A free port was taken before a node bound it ({}); trying other ports", e.getMessage());
            } catch (RuntimeException | Error e) {
                close();
                throw e;
            }
        }
        bootstrapServers = nodes.values().stream().map(n -> HOST + ":" + n.port).collect(Collectors.joining(","));
        awaitRegistered(startupTimeout);
        LOG.info("Kafka cluster of {} nodes ready at {} in {} ms (data dir {})", nodeCount, bootstrapServers,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), dataDir);
        return this;
    }

    private void startAll() {
        InetAddress address = resolveHost();
        List<Integer> taken = new ArrayList<>();
        for (int id = 1; id <= nodeCount; id++) {
            int port = basePort == 0 ? EmbeddedKafka.freePort(address, toArray(taken)) : basePort + 2 * (id - 1);
            taken.add(port);
            int controllerPort = basePort == 0 ? EmbeddedKafka.freePort(address, toArray(taken)) : port + 1;
            taken.add(controllerPort);
            nodes.put(id, new Node(id, port, controllerPort, dataDir.resolve("node-" + id)));
        }
        String voters = nodes.values().stream().map(n -> n.id + "@" + HOST + ":" + n.controllerPort)
                .collect(Collectors.joining(","));
        for (Node n : nodes.values()) {
            n.voters = voters;
            launch(n);
        }
        for (Node n : nodes.values()) {
            awaitReady(n);
        }
    }

    private static int[] toArray(List<Integer> ports) {
        return ports.stream().mapToInt(Integer::intValue).toArray();
    }

    /** {@code host:port,...} of every node's broker listener. */
    public synchronized String bootstrapServers() {
        if (bootstrapServers == null) {
            throw new IllegalStateException("The Kafka cluster has not been started");
        }
        return bootstrapServers;
    }

    /** The node ids, 1..N. */
    public synchronized List<Integer> nodeIds() {
        return List.copyOf(nodes.keySet());
    }

    /** The broker port of a node; fixed for the cluster's life. */
    public synchronized int port(int nodeId) {
        return node(nodeId).port;
    }

    /** A node's data directory (its {@code server.properties} and {@code kraft-logs}). */
    public synchronized Path dataDir(int nodeId) {
        return node(nodeId).dir;
    }

    /** The process id of a node's running (or paused) JVM. */
    public synchronized long pid(int nodeId) {
        Node n = node(nodeId);
        if (n.process == null || n.state == NodeState.KILLED) {
            throw new IllegalStateException("node " + nodeId + " is not running");
        }
        return n.process.pid();
    }

    /** True when the node's JVM runs and is not paused. */
    public synchronized boolean isRunning(int nodeId) {
        Node n = node(nodeId);
        return n.state == NodeState.RUNNING && n.process.isAlive();
    }

    /**
     * The resident memory of a node's JVM in bytes (Linux {@code /proc/<pid>/status} VmRSS), or -1 where that
     * cannot be read.
     */
    public synchronized long residentBytes(int nodeId) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid(nodeId)), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("cannot read the resident memory of node {}: {}", nodeId, e.toString());
        }
        return -1;
    }

    /** SIGKILLs the node's JVM (no clean shutdown) and waits until it is gone. Its data directory stays. */
    public synchronized void kill(int nodeId) {
        Node n = node(nodeId);
        requireState(n, NodeState.RUNNING, NodeState.PAUSED);
        destroy(n);
        LOG.info("killed node {} (pid {})", nodeId, n.process.pid());
    }

    /**
     * Starts a killed node again on its ports and data directory (its log is recovered as after a crash) and
     * waits until it answers; it may still be catching up: {@link #awaitHealthy} waits for that.
     */
    public synchronized void restart(int nodeId) {
        Node n = node(nodeId);
        requireState(n, NodeState.KILLED);
        long t0 = System.nanoTime();
        launch(n);
        awaitReady(n);
        LOG.info("restarted node {} in {} ms", nodeId, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    }

    /** SIGSTOPs the node's JVM: it keeps its sockets open but answers nothing, like a broker in a long GC pause. */
    public synchronized void pause(int nodeId) {
        Node n = node(nodeId);
        requireState(n, NodeState.RUNNING);
        signal(n, "STOP");
        n.state = NodeState.PAUSED;
    }

    /** SIGCONTs a paused node. */
    public synchronized void resume(int nodeId) {
        Node n = node(nodeId);
        requireState(n, NodeState.PAUSED);
        signal(n, "CONT");
        n.state = NodeState.RUNNING;
    }

    /** The id of the partition's leader as the cluster's metadata names it now, or empty when it has none. */
    public synchronized OptionalInt leaderOf(TopicPartition partition) {
        TopicPartitionInfo info = describe(partition.topic()).partitions().stream()
                .filter(p -> p.partition() == partition.partition()).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no such partition: " + partition));
        org.apache.kafka.common.Node leader = info.leader();
        return leader == null || leader.isEmpty() ? OptionalInt.empty() : OptionalInt.of(leader.id());
    }

    /** The id of the broker coordinating the transactions of {@code transactionalId} (one that has begun one). */
    public synchronized int transactionCoordinatorOf(String transactionalId) {
        return get(admin().describeTransactions(List.of(transactionalId)).description(transactionalId),
                "describing transaction " + transactionalId).coordinatorId();
    }

    /** The id of the broker coordinating share group {@code groupId}. */
    public synchronized int shareGroupCoordinatorOf(String groupId) {
        return get(admin().describeShareGroups(List.of(groupId)).describedGroups().get(groupId),
                "describing share group " + groupId).coordinator().id();
    }

    /**
     * Waits until the cluster is whole again: every node runs and is registered, and every partition of every
     * topic (internal ones included) has a leader and all its replicas in sync.
     *
     * @throws IllegalStateException if a node is killed or paused
     * @throws EmbeddedKafkaException naming the partitions still short of replicas after {@code timeout}
     */
    public synchronized void awaitHealthy(Duration timeout) {
        for (Node n : nodes.values()) {
            requireState(n, NodeState.RUNNING);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        String problem;
        do {
            problem = unhealthy();
            if (problem == null) {
                return;
            }
            EmbeddedKafka.sleep(100);
        } while (System.nanoTime() < deadline);
        throw new EmbeddedKafkaException("The Kafka cluster is not healthy after " + timeout.toMillis() + " ms: "
                + problem);
    }

    /** What keeps the cluster from being healthy now, or null. */
    private String unhealthy() {
        try {
            Admin a = admin();
            int registered = a.describeCluster().nodes().get(5, TimeUnit.SECONDS).size();
            if (registered < nodes.size()) {
                return registered + " of " + nodes.size() + " brokers registered";
            }
            Set<String> topics = a.listTopics(new ListTopicsOptions().listInternal(true)).names()
                    .get(5, TimeUnit.SECONDS);
            List<String> lagging = new ArrayList<>();
            for (TopicDescription d : a.describeTopics(topics).allTopicNames().get(5, TimeUnit.SECONDS).values()) {
                for (TopicPartitionInfo p : d.partitions()) {
                    if (p.leader() == null || p.leader().isEmpty() || p.isr().size() < p.replicas().size()) {
                        lagging.add(d.name() + "-" + p.partition() + " (leader " + (p.leader() == null ? "none"
                                : p.leader().idString()) + ", isr " + ids(p.isr()) + " of " + ids(p.replicas())
                                + ")");
                    }
                }
            }
            return lagging.isEmpty() ? null : lagging.size() + " partitions short of replicas, e.g. "
                    + lagging.subList(0, Math.min(5, lagging.size()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EmbeddedKafkaException("Interrupted while checking the Kafka cluster", e);
        } catch (ExecutionException | TimeoutException e) {
            return e.toString();
        }
    }

    private static String ids(List<org.apache.kafka.common.Node> nodes) {
        return nodes.stream().map(org.apache.kafka.common.Node::idString).collect(Collectors.joining(",", "[", "]"));
    }

    /** Kills every node this cluster started and, if the cluster created its data directory, deletes it. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (admin != null) {
            admin.close(Duration.ofSeconds(1));
            admin = null;
        }
        killAll();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException | IllegalArgumentException e) {
            // the JVM is shutting down, or start() never registered it
        }
        if (givenDataDir == null && dataDir != null) {
            EmbeddedKafka.deleteRecursively(dataDir);
        }
    }

    @Override
    public String toString() {
        return "KafkaCluster[" + (bootstrapServers == null ? nodeCount + " nodes, not started" : bootstrapServers)
                + "]";
    }

    // ---- nodes ---------------------------------------------------------------------------------------

    /** One node: fixed ports and directory; a process per life. Guarded by the cluster's lock. */
    private static final class Node {
        final int id;
        final int port;
        final int controllerPort;
        final Path dir;
        String voters;
        Process process;
        CompletableFuture<String> ready;
        NodeState state = NodeState.NEW;

        Node(int id, int port, int controllerPort, Path dir) {
            this.id = id;
            this.port = port;
            this.controllerPort = controllerPort;
            this.dir = dir;
        }

        Path log() {
            return dir.resolveSibling("node-" + id + ".log");
        }
    }

    private Node node(int nodeId) {
        Node n = nodes.get(nodeId);
        if (n == null) {
            throw new IllegalArgumentException("no node " + nodeId + " (nodes: " + nodes.keySet() + ")");
        }
        return n;
    }

    private static void requireState(Node n, NodeState... allowed) {
        for (NodeState s : allowed) {
            if (n.state == s) {
                return;
            }
        }
        throw new IllegalStateException("node " + n.id + " is " + n.state.name().toLowerCase(java.util.Locale.ROOT)
                + " (needs " + List.of(allowed) + ")");
    }

    private void launch(Node n) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        cmd.add("-D" + EmbeddedKafkaMain.EXIT_WITH_PARENT_PROPERTY + "=true");
        cmd.addAll(List.of("-cp", classpath, EmbeddedKafkaMain.class.getName(),
                "--host", HOST, "--port", Integer.toString(n.port), "--data-dir", n.dir.toString(),
                "--node-id", Integer.toString(n.id), "--controller-port", Integer.toString(n.controllerPort),
                "--voters", n.voters, "--cluster-id", clusterId));
        Map<String, String> props = new LinkedHashMap<>(replicatedBrokerProperties(nodeCount));
        props.putAll(brokerProperties);
        props.forEach((k, v) -> cmd.addAll(List.of("--prop", k + "=" + v)));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("KAFKA_PORT");
        pb.environment().remove("KAFKA_DATA_DIR");
        pb.redirectError(ProcessBuilder.Redirect.appendTo(n.log().toFile()));
        try {
            n.process = pb.start();
        } catch (IOException e) {
            throw new EmbeddedKafkaException("Cannot start the JVM of node " + n.id + ": " + e, e);
        }
        Process p = n.process;
        live.add(p);
        n.ready = CompletableFuture.supplyAsync(() -> {
            try {
                // stdout carries the READY line only; after it, nothing to drain.
                return new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))
                        .readLine();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        n.state = NodeState.RUNNING;
    }

    private void awaitReady(Node n) {
        String line;
        try {
            line = n.ready.get(startupTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EmbeddedKafkaException("Interrupted while starting node " + n.id, e);
        } catch (ExecutionException | TimeoutException e) {
            line = null;
        }
        if (line != null && line.startsWith(EmbeddedKafkaMain.READY_PREFIX)) {
            return;
        }
        Integer exit = null;
        try {
            if (n.process.waitFor(2, TimeUnit.SECONDS)) {
                exit = n.process.exitValue();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        destroy(n);
        // A controller listener that cannot bind makes Kafka's fault handler halt the JVM with exit code 1 before the
        // node's main can say EXIT_PORT_IN_USE (seen on a busy machine: another process took a free port in between).
        if (exit != null && (exit == EmbeddedKafkaMain.EXIT_PORT_IN_USE
                || exit != 0 && tail(n.log(), 60).contains("Address already in use"))) {
            throw new PortInUseException(HOST, n.port, null);
        }
        throw new EmbeddedKafkaException("Node " + n.id + " of the Kafka cluster did not start within "
                + startupTimeout.toSeconds() + " s" + (exit == null ? "" : " (exit code " + exit + ")")
                + "; the end of " + n.log() + ":\n" + tail(n.log(), 30));
    }

    private void destroy(Node n) {
        if (n.process == null) {
            return;
        }
        n.process.destroyForcibly(); // SIGKILL, which also ends a SIGSTOPped process
        try {
            if (!n.process.waitFor(30, TimeUnit.SECONDS)) {
                LOG.warn("node {} (pid {}) did not exit within 30 s of SIGKILL", n.id, n.process.pid());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        live.remove(n.process);
        n.state = NodeState.KILLED;
    }

    private void killAll() {
        for (Node n : nodes.values()) {
            if (n.state == NodeState.RUNNING || n.state == NodeState.PAUSED) {
                destroy(n);
            }
        }
    }

    private static void signal(Node n, String signal) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(n.process.pid()))
                    .redirectErrorStream(true).start();
            String out = new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (kill.waitFor() != 0) {
                throw new EmbeddedKafkaException("kill -" + signal + " of node " + n.id + " failed: " + out);
            }
        } catch (IOException e) {
            throw new EmbeddedKafkaException("Cannot send SIG" + signal + " to node " + n.id + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EmbeddedKafkaException("Interrupted while signalling node " + n.id, e);
        }
    }

    private void awaitRegistered(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        int registered = 0;
        while (System.nanoTime() < deadline) {
            try {
                registered = admin().describeCluster().nodes().get(5, TimeUnit.SECONDS).size();
                if (registered >= nodeCount) {
                    return;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new EmbeddedKafkaException("Interrupted while starting the Kafka cluster", e);
            } catch (ExecutionException | TimeoutException e) {
                LOG.debug("cluster not ready yet: {}", e.toString());
            }
            EmbeddedKafka.sleep(100);
        }
        close();
        throw new EmbeddedKafkaException("Only " + registered + " of " + nodeCount + " brokers registered within "
                + timeout.toSeconds() + " s");
    }

    private Admin admin() {
        if (admin == null) {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
            p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000);
            p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10000);
            p.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, 50);
            p.put(AdminClientConfig.CLIENT_ID_CONFIG, "kafka-cluster-control");
            admin = Admin.create(p);
        }
        return admin;
    }

    private TopicDescription describe(String topic) {
        return get(admin().describeTopics(List.of(topic)).allTopicNames(), "describing topic " + topic).get(topic);
    }

    private static <T> T get(org.apache.kafka.common.KafkaFuture<T> future, String what) {
        try {
            return future.get(15, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EmbeddedKafkaException("Interrupted while " + what, e);
        } catch (ExecutionException e) {
            throw new EmbeddedKafkaException(what + " failed: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new EmbeddedKafkaException(what + " took more than 15 s", e);
        }
    }

    // ---- files ---------------------------------------------------------------------------------------

    private Path prepareDataDir() {
        try {
            return givenDataDir != null ? Files.createDirectories(givenDataDir.toAbsolutePath())
                    : Files.createTempDirectory("kafka-cluster-");
        } catch (IOException e) {
            throw new EmbeddedKafkaException("Cannot create the Kafka cluster's data directory: " + e, e);
        }
    }

    private static String tail(Path file, int lines) {
        try {
            List<String> all = Files.exists(file) ? Files.readAllLines(file) : List.of();
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(cannot read it: " + e + ")";
        }
    }

    private static InetAddress resolveHost() {
        try {
            return InetAddress.getByName(HOST);
        } catch (IOException e) {
            throw new EmbeddedKafkaException("Cannot resolve " + HOST + ": " + e, e);
        }
    }

    /** Options for a {@link KafkaCluster}; every one has a default. */
    public static final class Builder {
        private int nodes = DEFAULT_NODES;
        private Path dataDir;
        private int basePort;
        private final Map<String, String> brokerProperties = new LinkedHashMap<>();
        private List<String> jvmOptions = DEFAULT_JVM_OPTIONS;
        private String classpath;
        private Duration startupTimeout = DEFAULT_STARTUP_TIMEOUT;

        private Builder() {
        }

        /** How many nodes (each a broker and a controller voter); default 3. */
        public Builder nodes(int nodes) {
            if (nodes < 1) {
                throw new IllegalArgumentException("nodes must be >= 1: " + nodes);
            }
            this.nodes = nodes;
            return this;
        }

        /** Where the nodes keep their data ({@code node-<id>/}) and logs; kept on close. Default: a temp dir. */
        public Builder dataDir(Path dataDir) {
            this.dataDir = dataDir;
            return this;
        }

        /**
         * Fixed ports: node {@code i} listens on {@code basePort + 2(i-1)} (broker) and the next port (controller).
         * Default 0: free ports, chosen at start.
         */
        public Builder basePort(int basePort) {
            if (basePort < 0 || basePort > 65535) {
                throw new IllegalArgumentException("base port out of range: " + basePort);
            }
            this.basePort = basePort;
            return this;
        }

        /** One broker property for every node; overrides this class's defaults. Listener/role/dir keys are reserved. */
        public Builder brokerProperty(String key, String value) {
            EmbeddedKafka.checkBrokerProperty(key, value);
            brokerProperties.put(key, value);
            return this;
        }

        /** Broker properties for every node; see {@link #brokerProperty(String, String)}. */
        public Builder brokerProperties(Map<String, String> properties) {
            properties.forEach(this::brokerProperty);
            return this;
        }

        /** Options of each node's JVM; default {@link #DEFAULT_JVM_OPTIONS}. */
        public Builder jvmOptions(List<String> options) {
            this.jvmOptions = List.copyOf(options);
            return this;
        }

        /** The nodes' class path (it must hold this module and Kafka); default this JVM's. */
        public Builder classpath(String classpath) {
            this.classpath = classpath;
            return this;
        }

        /** How long starting or restarting a node may take; default 90 s. */
        public Builder startupTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("startup timeout must be positive: " + timeout);
            }
            this.startupTimeout = timeout;
            return this;
        }

        public KafkaCluster build() {
            return new KafkaCluster(this);
        }

        /** {@code build().start()}. */
        public KafkaCluster start() {
            return build().start();
        }
    }
}
