package io.promptfleet.architecture;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static io.promptfleet.architecture.ProductionClasses.ROOT;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * No cycles between packages. Every package lives in one module and Maven forbids cycles between modules, so
 * this is the rule "no cycles between the packages of one module".
 */
@AnalyzeClasses(packages = ROOT, importOptions = ImportOption.DoNotIncludeTests.class)
class PackageCyclesTest {

  @ArchTest
  static final ArchRule packagesAreFreeOfCycles = slices()
      .matching(ROOT + ".(**)").namingSlices("package $1")
      .should().beFreeOfCycles()
      // Known exception: the simulator's public API (SimulatedProvider, FaultPlan, SimulatorOptions, ...) is
      // implemented in simulator.internal, which takes those API types as arguments: the API -> internal -> API
      // cycle of the "small public surface, implementations in internal" layout (STYLE.md, Failsafe). Only
      // internal -> API is ignored, so any other cycle, in the simulator or elsewhere, still fails.
      .ignoreDependency(resideInAPackage("io.promptfleet.simulator.internal"),
          resideInAPackage("io.promptfleet.simulator"))
      .because("a cycle between packages means neither can be understood, tested or moved alone");
}
