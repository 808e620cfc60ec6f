package io.promptfleet.architecture;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static io.promptfleet.architecture.ProductionClasses.BENCH;
import static io.promptfleet.architecture.ProductionClasses.CLIENT;
import static io.promptfleet.architecture.ProductionClasses.COMMON;
import static io.promptfleet.architecture.ProductionClasses.DISPATCHER;
import static io.promptfleet.architecture.ProductionClasses.EMBEDDED_KAFKA;
import static io.promptfleet.architecture.ProductionClasses.LAUNCHER;
import static io.promptfleet.architecture.ProductionClasses.ROOT;
import static io.promptfleet.architecture.ProductionClasses.SIMULATOR;
import static io.promptfleet.architecture.ProductionClasses.WORKER;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * Which module may use which, and which packages stay free of Kafka and Vert.x. Maven's dependency scopes already
 * stop a main class from compiling against a module it lacks; these rules also hold where a module is on the
 * class path for another reason (the dispatcher's tests run the worker) and say why in the failure.
 */
@AnalyzeClasses(packages = ROOT, importOptions = ImportOption.DoNotIncludeTests.class)
class ModuleLayeringTest {

  @ArchTest
  static final ArchRule commonDependsOnNoOtherModule = dependsOnlyOn(COMMON)
      .because("common is the shared base of every module (docs/DESIGN.md, Modules)");

  @ArchTest
  static final ArchRule dispatcherDependsOnlyOnCommon = dependsOnlyOn(DISPATCHER, COMMON)
      .because("the dispatcher runs alone and talks to workers through Kafka topics only, never through the "
          + "worker's, the simulator's or the launcher's classes");

  @ArchTest
  static final ArchRule workerDependsOnlyOnCommon = dependsOnlyOn(WORKER, COMMON)
      .because("the worker runs alone and talks to the dispatcher through Kafka topics only, never through the "
          + "dispatcher's, the simulator's or the launcher's classes");

  @ArchTest
  static final ArchRule clientDependsOnlyOnCommon = dependsOnlyOn(CLIENT, COMMON)
      .because("the client library ships to service developers with nothing but the wire contract and Kafka");

  @ArchTest
  static final ArchRule simulatorIsStandalone = dependsOnlyOn(SIMULATOR)
      .because("the simulator stands in for a third-party provider and must not know promptfleet's classes");

  @ArchTest
  static final ArchRule embeddedKafkaIsStandalone = dependsOnlyOn(EMBEDDED_KAFKA)
      .because("embedded-kafka is a broker for dev mode and tests, below every other module");

  @ArchTest
  static final ArchRule nothingDependsOnTheLauncherOrTheBenchmarks = noClasses()
      .that().resideOutsideOfPackages(LAUNCHER, BENCH)
      .should().dependOnClassesThat().resideInAnyPackage(LAUNCHER, BENCH)
      .because("the launcher and the benchmarks are the top: they assemble the modules, never the other way");

  @ArchTest
  static final ArchRule wireContractUsesNoKafkaOrVertx = noClasses()
      .that().resideInAPackage("io.promptfleet.common.job..")
      .should().dependOnClassesThat().resideInAnyPackage("org.apache.kafka..", "io.vertx..")
      .because("common.job is the wire contract: plain records that any client (or another language) can "
          + "mirror, with no transport or event-loop types (STYLE.md, Layout)");

  @ArchTest
  static final ArchRule codecAndConfigUseNoVertx = noClasses()
      .that().resideInAnyPackage("io.promptfleet.common.codec..", "io.promptfleet.common.config..")
      .should().dependOnClassesThat().resideInAPackage("io.vertx..")
      .because("the JSON mapper and the config records are used by the client and by plain threads, which "
          + "have no Vert.x");

  @ArchTest
  static final ArchRule pureLogicUsesNoKafkaOrVertx = noClasses()
      .that().resideInAnyPackage("io.promptfleet.dispatcher.capacity..", "io.promptfleet.dispatcher.schedule..",
          "io.promptfleet.dispatcher.route..", "io.promptfleet.worker.stream.sse..")
      .should().dependOnClassesThat().resideInAnyPackage("org.apache.kafka..", "io.vertx..")
      .because("capacity accounting, scheduling, routes and SSE parsing are pure logic, tested without a "
          + "broker or an event loop (STYLE.md, Tests)");

  /** Classes in {@code module} use no promptfleet class outside {@code module} and {@code allowed}. */
  private static ArchRule dependsOnlyOn(String module, String... allowed) {
    String[] own = new String[allowed.length + 1];
    own[0] = module;
    System.arraycopy(allowed, 0, own, 1, allowed.length);
    return noClasses()
        .that().resideInAPackage(module)
        .should().dependOnClassesThat(resideInAPackage(ROOT + "..").and(not(resideInAnyPackage(own)))
            .as(allowed.length == 0 ? "are in another promptfleet module"
                : "are in a promptfleet module other than " + String.join(", ", own)));
  }
}
