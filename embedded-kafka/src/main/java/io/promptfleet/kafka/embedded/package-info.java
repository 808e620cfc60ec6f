/**
 * Apache Kafka 4.4 (KRaft, broker and controller in one process) for dev mode, tests and benchmarks: a single
 * node inside this JVM, or a replicated cluster of child JVMs.
 *
 * <ul>
 *   <li>{@link io.promptfleet.kafka.embedded.EmbeddedKafka}: one broker, started and stopped by its owner.</li>
 *   <li>{@link io.promptfleet.kafka.embedded.EmbeddedKafkaMain}: the same broker as a process of its own
 *       (prints {@code KAFKA READY <bootstrap>} when ready, stops cleanly on SIGTERM); with {@code --node-id},
 *       {@code --controller-port}, {@code --voters} and {@code --cluster-id}, one node of a cluster.</li>
 *   <li>{@link io.promptfleet.kafka.embedded.KafkaCluster}: three such nodes (by default) in child JVMs,
 *       replicated like production (replication factor 3, {@code min.insync.replicas} 2, internal topics too),
 *       with {@code kill} (SIGKILL), {@code restart}, {@code pause}/{@code resume} (SIGSTOP/SIGCONT),
 *       {@code leaderOf}, the transaction and share-group coordinators, and {@code awaitHealthy}.</li>
 *   <li>{@link io.promptfleet.kafka.embedded.SharedKafka} and
 *       {@link io.promptfleet.kafka.embedded.KafkaTestSupport}: one broker per test JVM (or an external one
 *       named by {@code -Dkafka.bootstrap} / {@code KAFKA_BOOTSTRAP}) and the helpers tests need.</li>
 * </ul>
 *
 * <p>A cluster from a test or a benchmark (a {@code bench/} module depends on this one; the nodes run this JVM's
 * class path, or {@code KafkaCluster.Builder.classpath}):
 *
 * <pre>{@code
 * try (KafkaCluster cluster = KafkaCluster.builder()
 *         .brokerProperties(SharedKafka.testBrokerProperties())  // short share locks and sessions, for tests
 *         .start()) {                                            // ~10-25 s on 2 cores, ~150-200 MiB RSS a node
 *     String bootstrap = cluster.bootstrapServers();
 *     int leader = cluster.leaderOf(new TopicPartition("llm.assignments", 0)).orElseThrow();
 *     cluster.kill(leader);
 *     cluster.restart(leader);
 *     cluster.awaitHealthy(Duration.ofSeconds(60));
 * }
 * }</pre>
 *
 * <p>Fixed ports ({@code basePort(19092)}: node i on 19092 + 2(i−1) and the next port) and a kept data directory
 * ({@code dataDir(path)}) let a long run be inspected afterwards; each node's standard error is in
 * {@code <dataDir>/node-<id>.log}. A throughput benchmark should give {@code jvmOptions} without
 * {@code -XX:TieredStopAtLevel=1} (see {@link io.promptfleet.kafka.embedded.KafkaCluster#DEFAULT_JVM_OPTIONS}).
 *
 * <p>This module ships no logging configuration: whoever runs it owns that.
 */
package io.promptfleet.kafka.embedded;
