package io.promptfleet.kafka.embedded;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * Runs an {@link EmbeddedKafka} as a process of its own.
 *
 * <pre>
 * java -cp ... io.promptfleet.kafka.embedded.EmbeddedKafkaMain [--port N] [--data-dir DIR]
 *      [--host H] [--partitions N] [--prop key=value]...
 *      [--node-id N --controller-port N --voters 1@H:P,2@H:P,... --cluster-id ID]
 * </pre>
 *
 * <p>The last four make the broker one node of a multi-node cluster ({@link KafkaCluster} starts them).
 * With the system property {@value #EXIT_WITH_PARENT_PROPERTY}{@code =true} the process halts at once when its
 * standard input reaches end of file, i.e. when the process that started it (and holds the pipe) is gone,
 * even by SIGKILL: no broker outlives the test that started it.
 *
 * <p>Options fall back to the environment ({@code KAFKA_PORT}, {@code KAFKA_DATA_DIR}), then to the
 * {@link EmbeddedKafka} defaults (port 9092, a temporary data directory deleted on exit).
 *
 * <p>Standard output carries exactly one line, {@code KAFKA READY <bootstrap>}, printed once the broker
 * accepts requests; everything else (including console logging that starts after {@code main} begins)
 * goes to standard error. SIGTERM (or any normal JVM exit) stops the broker cleanly through a shutdown
 * hook. Exit codes: 1 if the broker failed to start, 2 for bad arguments, 3 if the port is in use.
 */
public final class EmbeddedKafkaMain {

    /** The prefix of the one line written to standard output. */
    public static final String READY_PREFIX = "KAFKA READY ";

    /** System property: halt when standard input closes (the parent died). */
    public static final String EXIT_WITH_PARENT_PROPERTY = "embedded.kafka.exit.with.parent";

    static final int EXIT_FAILED = 1;
    static final int EXIT_USAGE = 2;
    static final int EXIT_PORT_IN_USE = 3;

    private EmbeddedKafkaMain() {
    }

    public static void main(String[] args) {
        // Keep stdout for the READY line alone: anything else that writes to System.out (a console
        // logger configured later, Kafka's own prints) lands on stderr.
        PrintStream stdout = System.out;
        System.setOut(System.err);

        EmbeddedKafka.Builder builder;
        try {
            builder = parse(args, System.getenv());
        } catch (IllegalArgumentException e) {
            System.err.println("embedded-kafka: " + e.getMessage());
            System.err.println("usage: EmbeddedKafkaMain [--port N] [--data-dir DIR] [--host H]"
                    + " [--partitions N] [--prop key=value]... [--node-id N] [--controller-port N]"
                    + " [--voters ID@HOST:PORT,...] [--cluster-id ID]");
            System.exit(EXIT_USAGE);
            return;
        }

        if (Boolean.getBoolean(EXIT_WITH_PARENT_PROPERTY)) {
            exitWithParent();
        }
        EmbeddedKafka kafka = builder.build();
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            try {
                kafka.close();
                System.err.println("embedded-kafka: stopped");
            } finally {
                stopped.countDown();
            }
        }, "embedded-kafka-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);

        try {
            kafka.start();
        } catch (PortInUseException e) {
            System.err.println("embedded-kafka: " + e.getMessage());
            System.exit(EXIT_PORT_IN_USE);
            return;
        } catch (RuntimeException e) {
            System.err.println("embedded-kafka: " + e.getMessage());
            e.printStackTrace(System.err);
            System.exit(EXIT_FAILED);
            return;
        }
        stdout.println(READY_PREFIX + kafka.bootstrapServers());
        stdout.flush();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A daemon thread that halts the JVM (no shutdown hooks: a clean stop may wait for peers) on stdin EOF. */
    private static void exitWithParent() {
        Thread watcher = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                    // the parent writes nothing; only the end of the stream matters
                }
            } catch (java.io.IOException e) {
                // a broken pipe means the same as EOF
            }
            System.err.println("embedded-kafka: standard input closed (the parent is gone); halting");
            Runtime.getRuntime().halt(EXIT_FAILED);
        }, "embedded-kafka-parent-watch");
        watcher.setDaemon(true);
        watcher.start();
    }

    static EmbeddedKafka.Builder parse(String[] args, Map<String, String> env) {
        EmbeddedKafka.Builder b = EmbeddedKafka.builder();
        String port = env.get("KAFKA_PORT");
        String dataDir = env.get("KAFKA_DATA_DIR");
        Map<String, String> props = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String value;
            String name;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0 && !arg.startsWith("--prop")) {
                name = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            } else {
                name = arg;
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("missing value after " + arg);
                }
                value = args[++i];
            }
            switch (name) {
                case "--port" -> port = value;
                case "--data-dir" -> dataDir = value;
                case "--host" -> b.host(value);
                case "--partitions" -> b.defaultPartitions(parseInt(name, value));
                case "--node-id" -> b.nodeId(parseInt(name, value));
                case "--controller-port" -> b.controllerPort(parseInt(name, value));
                case "--voters" -> b.controllerQuorumVoters(value);
                case "--cluster-id" -> b.clusterId(value);
                case "--prop" -> {
                    int e = value.indexOf('=');
                    if (e <= 0) {
                        throw new IllegalArgumentException("--prop needs key=value: " + value);
                    }
                    props.put(value.substring(0, e), value.substring(e + 1));
                }
                default -> throw new IllegalArgumentException("unknown option " + name);
            }
        }
        if (port != null && !port.isBlank()) {
            b.port(parseInt("--port", port.trim()));
        }
        if (dataDir != null && !dataDir.isBlank()) {
            b.dataDir(Path.of(dataDir.trim()));
        }
        b.brokerProperties(props);
        return b;
    }

    private static int parseInt(String name, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " needs a number: " + value);
        }
    }
}
