package io.promptfleet.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static io.promptfleet.architecture.ProductionClasses.ROOT;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaCall;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.promptfleet.common.metrics.MeterCatalogue;
import io.promptfleet.common.metrics.MeterSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.MockProducer;
import org.junit.jupiter.api.Test;

/**
 * Metrics come from one catalogue per process ({@code MeterCatalogue} subclasses: {@code WorkerMetrics},
 * {@code DispatcherMetrics}): no meter is built anywhere else, every spec is well-formed, and every series a
 * dashboard, scaler, README or doc queries is one the catalogues export.
 */
@AnalyzeClasses(packages = ROOT, importOptions = ImportOption.DoNotIncludeTests.class)
class MeterCatalogueTest {
  /** Meter builders, registry shorthands and binders: a registration. */
  private static final Set<String> REGISTRATIONS = Set.of("builder", "counter", "timer", "summary", "gauge",
      "gaugeCollectionSize", "gaugeMapSize", "more", "bindTo");

  private static final ArchCondition<JavaClass> REGISTER_A_METER = new ArchCondition<>("register a meter") {
    @Override
    public void check(JavaClass javaClass, ConditionEvents events) {
      for (JavaCall<?> call : javaClass.getCodeUnitCallsFromSelf()) {
        JavaClass owner = call.getTargetOwner();
        boolean micrometer = owner.isAssignableTo(Meter.class) || owner.isAssignableTo(MeterRegistry.class)
            || owner.isAssignableTo(MeterBinder.class);
        if (micrometer && REGISTRATIONS.contains(call.getName())
            && owner.getPackageName().startsWith("io.micrometer")) {
          events.add(SimpleConditionEvent.satisfied(call, call.getDescription()));
        }
      }
    }
  };

  @ArchTest
  static final ArchRule onlyTheCatalogueRegistersMeters = noClasses()
      .that().resideOutsideOfPackage("io.promptfleet.common.metrics..")
      .should(REGISTER_A_METER)
      .because("a process's meters are declared in its catalogue (a Spec of WorkerMetrics or DispatcherMetrics) "
          + "and registered by common.metrics.MeterCatalogue: names, descriptions and tag keys in one place");

  @Test
  void shouldDeclareWellFormedSpecs() throws Exception {
    List<Class<?>> specs = specEnums();
    assertThat(specs).as("the Spec enums of the catalogues").hasSizeGreaterThanOrEqualTo(2);
    Set<String> names = new HashSet<>();
    for (Class<?> e : specs) {
      for (Object o : e.getEnumConstants()) {
        MeterSpec s = (MeterSpec) o;
        String what = e.getName() + "." + o;
        // A binder's family (type OTHER) is named after the client it binds, in every catalogue alike.
        assertThat(s.type() == Meter.Type.OTHER || names.add(s.meterName()))
            .as("name of %s is unique across catalogues", what).isTrue();
        assertThat(s.meterName()).as(what).matches("[a-z][a-z0-9]*(\\.[a-z0-9]+)*");
        assertThat(s.description()).as(what).isNotBlank();
        assertThat(new HashSet<>(s.tagKeys())).as("tag keys of %s", what).hasSameSizeAs(s.tagKeys());
        assertThat(s.tagKeys()).as("never a job id as a tag: %s", what)
            .doesNotContain("job_id", "job", "lease_id", "lease");
      }
    }
  }

  @Test
  void shouldRegisterEverySpecWithItsTypeDescriptionAndTagKeys() throws Exception {
    for (Class<?> catalogue : catalogues()) {
      PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      for (MeterSpec s : registerAll(catalogue, registry)) {
        if (s.type() == Meter.Type.OTHER) {
          continue; // a binder's family: its names come from the client
        }
        Meter m = registry.get(s.meterName()).meter();
        String what = catalogue.getSimpleName() + "." + s;
        assertThat(m.getId().getType()).as(what).isEqualTo(s.type());
        assertThat(m.getId().getDescription()).as(what).isEqualTo(s.description());
        assertThat(m.getId().getTags()).as(what).extracting(t -> t.getKey())
            .containsExactlyInAnyOrderElementsOf(s.tagKeys());
      }
    }
  }

  @Test
  void shouldExportEverySeriesThatDashboardsScalersAndDocsQuery() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    for (Class<?> catalogue : catalogues()) {
      registerAll(catalogue, registry);
    }
    Set<String> exported = Arrays.stream(registry.scrape().split("\n")) // series, and families (# TYPE name type)
        .map(l -> l.startsWith("# TYPE ") ? l.split(" ")[2] : l.split("[{ ]", 2)[0]).collect(Collectors.toSet());

    Set<String> queried = queriedNames("promptfleet_(worker|dispatcher|key|route|tenant)_[a-z_]+");

    assertThat(queried).as("series named in dashboards, deploy/, README and docs").isNotEmpty();
    assertThat(exported).containsAll(queried);
  }

  /** Registers every spec of {@code catalogue} (one tag value "x" per key) on {@code registry}. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private static List<MeterSpec> registerAll(Class<?> catalogue, MeterRegistry registry) throws Exception {
    MeterCatalogue c = (MeterCatalogue) catalogue.getConstructor(MeterRegistry.class).newInstance(registry);
    Class<?> specEnum = Arrays.stream(catalogue.getDeclaredClasses())
        .filter(k -> k.isEnum() && MeterSpec.class.isAssignableFrom(k)).findFirst()
        .orElseThrow(() -> new AssertionError(catalogue + " declares no Spec enum"));
    List<MeterSpec> specs = Arrays.stream(specEnum.getEnumConstants()).map(MeterSpec.class::cast).toList();
    for (MeterSpec s : specs) {
      String[] tags = s.tagKeys().stream().map(k -> "x").toArray(String[]::new);
      switch (s.type()) {
        case COUNTER -> c.counter(s, tags);
        case TIMER -> c.timer(s, tags);
        case DISTRIBUTION_SUMMARY -> c.summary(s, tags);
        case GAUGE -> c.gauge(s, () -> 1, tags);
        case OTHER -> c.kafkaClient(new KafkaClientMetrics(new MockProducer<String, byte[]>())).close();
        default -> throw new AssertionError("no registration for " + s.type());
      }
    }
    return specs;
  }

  /** The production classes, imported once for this class's tests (an import takes seconds). */
  private static JavaClasses production;

  private static synchronized JavaClasses production() {
    if (production == null) {
      production = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages(ROOT);
    }
    return production;
  }

  private static List<Class<?>> catalogues() throws ClassNotFoundException {
    List<Class<?>> out = new ArrayList<>();
    for (JavaClass c : production()) {
      if (c.isAssignableTo(MeterCatalogue.class) && !c.isEquivalentTo(MeterCatalogue.class)
          && !c.getModifiers().contains(JavaModifier.ABSTRACT)) {
        out.add(Class.forName(c.getName()));
      }
    }
    assertThat(out).as("the catalogues").isNotEmpty();
    return out;
  }

  private static List<Class<?>> specEnums() throws ClassNotFoundException {
    List<Class<?>> out = new ArrayList<>();
    for (JavaClass c : production()) {
      if (c.isEnum() && c.isAssignableTo(MeterSpec.class)) {
        out.add(Class.forName(c.getName()));
      }
    }
    return out;
  }

  /** Every Prometheus name matching {@code regex} in the files that query metrics (run from the module dir). */
  private static Set<String> queriedNames(String regex) throws IOException {
    Path root = Path.of("..");
    Pattern p = Pattern.compile(regex);
    Set<String> names = new TreeSet<>();
    for (Path dir : List.of(root.resolve("config"), root.resolve("deploy"), root.resolve("docs"),
        root.resolve("README.md"))) {
      if (!Files.exists(dir)) {
        continue;
      }
      try (Stream<Path> files = Files.walk(dir)) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          Matcher m = p.matcher(Files.readString(f));
          while (m.find()) {
            names.add(m.group());
          }
        }
      }
    }
    return names;
  }
}
