package io.promptfleet.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static io.promptfleet.architecture.ProductionClasses.BENCH;
import static io.promptfleet.architecture.ProductionClasses.CLIENT;
import static io.promptfleet.architecture.ProductionClasses.DISPATCHER;
import static io.promptfleet.architecture.ProductionClasses.EMBEDDED_KAFKA;
import static io.promptfleet.architecture.ProductionClasses.KAFKA_ADMIN;
import static io.promptfleet.architecture.ProductionClasses.KAFKA_CLIENT;
import static io.promptfleet.architecture.ProductionClasses.KAFKA_CONSUMER;
import static io.promptfleet.architecture.ProductionClasses.KAFKA_PRODUCER;
import static io.promptfleet.architecture.ProductionClasses.KAFKA_SHARE_CONSUMER;
import static io.promptfleet.architecture.ProductionClasses.LAUNCHER;
import static io.promptfleet.architecture.ProductionClasses.ROOT;
import static io.promptfleet.architecture.ProductionClasses.WORKER;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * Who may hold a Kafka consumer, producer or admin client. Each client has one owning thread (STYLE.md, Threads
 * are explicit), so the packages that hold clients are few and named here; everyone else sends them commands.
 * Kafka's data types ({@code ConsumerRecord}, {@code OffsetAndMetadata}, {@code TopicPartition}) and callback
 * interfaces (the HA assignor, rebalance listeners) are not clients and are not restricted by these rules.
 */
@AnalyzeClasses(packages = ROOT, importOptions = ImportOption.DoNotIncludeTests.class)
class KafkaClientOwnershipTest {
  // Packages without a trailing ".." are that package alone, not its sub-packages.
  private static final String DISPATCHER_LOOP = "io.promptfleet.dispatcher";
  private static final String DISPATCHER_INTAKE = "io.promptfleet.dispatcher.intake..";
  private static final String WORKER_ROOT = "io.promptfleet.worker";
  private static final String WORKER_POLL = "io.promptfleet.worker.poll..";
  private static final String WORKER_CANCEL = "io.promptfleet.worker.cancel..";
  private static final String WORKER_STREAM = "io.promptfleet.worker.stream";

  @ArchTest
  static final ArchRule onlyTheOwnersHoldKafkaClients = noClasses()
      .that().resideOutsideOfPackages(
          "io.promptfleet.common.kafka..",
          DISPATCHER_LOOP, DISPATCHER_INTAKE,
          WORKER_ROOT, WORKER_POLL, WORKER_CANCEL, WORKER_STREAM,
          CLIENT, LAUNCHER, EMBEDDED_KAFKA, BENCH)
      .should().dependOnClassesThat(KAFKA_CLIENT)
      .because("each Kafka client is owned by one named thread in a known package (common.kafka's topic "
          + "admin, the dispatcher's loop and topic catalog, the worker's lanes, cancel watcher and reply "
          + "publisher, the client library, the launcher, the embedded broker, the benchmarks); other code "
          + "sends those owners commands");

  @ArchTest
  static final ArchRule dispatcherConsumesAndProducesOnlyInItsLoop = noClasses()
      .that().resideInAPackage(DISPATCHER).and().resideOutsideOfPackage(DISPATCHER_LOOP)
      .should().dependOnClassesThat(KAFKA_CONSUMER.or(KAFKA_PRODUCER))
      .because("the dispatcher's one consumer and one transactional producer belong to its loop thread "
          + "(the top-level package); intake may list topics with an admin client, HA only assigns partitions");

  @ArchTest
  static final ArchRule onlyWorkerPollHoldsAShareConsumer = noClasses()
      .that().resideOutsideOfPackage(WORKER_POLL)
      .should().dependOnClassesThat(KAFKA_SHARE_CONSUMER)
      .because("worker.poll is the one owner of the share consumer: each lane's thread polls, acknowledges "
          + "and renews (STYLE.md, Layout)");

  @ArchTest
  static final ArchRule workerConsumesOnlyInPollAndCancel = noClasses()
      .that().resideInAPackage(WORKER).and().resideOutsideOfPackages(WORKER_POLL, WORKER_CANCEL)
      .should().dependOnClassesThat(KAFKA_CONSUMER)
      .because("the worker reads Kafka only in its lanes (worker.poll) and its cancel watcher (worker.cancel), "
          + "each on its own thread");

  @ArchTest
  static final ArchRule workerHoldsNoAdminClient = noClasses()
      .that().resideInAPackage(WORKER)
      .should().dependOnClassesThat(KAFKA_ADMIN)
      .because("topics and share groups are prepared by common.kafka, not by the worker");
}
