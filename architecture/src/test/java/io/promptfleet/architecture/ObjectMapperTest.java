package io.promptfleet.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static io.promptfleet.architecture.ProductionClasses.ROOT;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.tngtech.archunit.core.domain.JavaCall;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaConstructorCall;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import java.util.Set;

/** One JSON mapper, {@code common.codec.Json}, so every module reads and writes the wire contract alike. */
@AnalyzeClasses(packages = ROOT, importOptions = ImportOption.DoNotIncludeTests.class)
class ObjectMapperTest {
  /** Static factories and copies that make a new mapper (JsonMapper.builder(), YAMLMapper.builder(), copy()). */
  private static final Set<String> MAPPER_FACTORIES = Set.of("builder", "copy");

  private static final ArchCondition<JavaClass> CREATE_AN_OBJECT_MAPPER =
      new ArchCondition<>("create their own Jackson ObjectMapper") {
        @Override
        public void check(JavaClass javaClass, ConditionEvents events) {
          for (JavaCall<?> call : javaClass.getCodeUnitCallsFromSelf()) {
            boolean mapper = call.getTargetOwner().isAssignableTo(ObjectMapper.class);
            boolean creates = call instanceof JavaConstructorCall || MAPPER_FACTORIES.contains(call.getName());
            if (mapper && creates) {
              events.add(SimpleConditionEvent.satisfied(call, call.getDescription()));
            }
          }
        }
      };

  @ArchTest
  static final ArchRule onlyCommonCodecCreatesAnObjectMapper = noClasses()
      .that().resideOutsideOfPackage("io.promptfleet.common.codec..")
      // Known exception: ConfigLoader reads YAML config files with a YAML mapper of its own; Json owns JSON only.
      .and().doNotHaveFullyQualifiedName("io.promptfleet.common.config.ConfigLoader")
      .should(CREATE_AN_OBJECT_MAPPER)
      .because("common.codec.Json is the one ObjectMapper: the same modules, naming and unknown-field rules "
          + "for every reader and writer of the wire contract (STYLE.md, Layout)");
}
