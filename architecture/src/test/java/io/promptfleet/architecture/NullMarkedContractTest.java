package io.promptfleet.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static io.promptfleet.architecture.ProductionClasses.ROOT;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaPackage;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import org.jspecify.annotations.NullMarked;

/**
 * The wire contract says which of its values may be null: JSpecify's {@code @NullMarked} on the package-info of
 * {@code common.job} and {@code common.codec}, {@code @Nullable} on each value that may be null. No checker runs in
 * the build; IDEs and Kotlin read the annotations, so this rule keeps the marker from being dropped.
 */
@AnalyzeClasses(packages = ROOT, importOptions = ImportOption.DoNotIncludeTests.class)
class NullMarkedContractTest {

  private static final ArchCondition<JavaClass> RESIDE_IN_A_NULL_MARKED_PACKAGE =
      new ArchCondition<>("reside in a package whose package-info is annotated with @NullMarked") {
        @Override
        public void check(JavaClass javaClass, ConditionEvents events) {
          JavaPackage pkg = javaClass.getPackage();
          boolean marked = pkg.isAnnotatedWith(NullMarked.class);
          events.add(new SimpleConditionEvent(javaClass, marked, javaClass.getName() + " is in package "
              + pkg.getName() + ", whose package-info " + (marked ? "is" : "is not") + " annotated with @NullMarked"));
        }
      };

  @ArchTest
  static final ArchRule wireContractIsNullMarked = classes()
      .that().resideInAnyPackage("io.promptfleet.common.job..", "io.promptfleet.common.codec..")
      .should(RESIDE_IN_A_NULL_MARKED_PACKAGE)
      .because("the wire contract's types are non-null unless marked @Nullable (JSpecify), which IDEs and Kotlin "
          + "callers of the client rely on; @NullMarked does not extend to sub-packages, so each needs its own "
          + "package-info (docs/DESIGN.md, Architecture checks)");
}
