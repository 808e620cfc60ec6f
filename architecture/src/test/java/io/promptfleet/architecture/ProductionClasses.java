package io.promptfleet.architecture;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.assignableTo;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ShareConsumer;
import org.apache.kafka.clients.producer.Producer;

/**
 * What the rules look at: the production classes of every module (the jars this module depends on; its own test
 * classes and other modules' tests are not imported: every test class says
 * {@code @AnalyzeClasses(packages = ROOT, importOptions = DoNotIncludeTests.class)}, and ArchUnit imports them once
 * for all), and the names the rules share.
 */
final class ProductionClasses {
  /** The root package of every module. */
  static final String ROOT = "io.promptfleet";

  // Module roots (package patterns). embedded-kafka's classes live in io.promptfleet.kafka.embedded.
  static final String COMMON = "io.promptfleet.common..";
  static final String EMBEDDED_KAFKA = "io.promptfleet.kafka.embedded..";
  static final String SIMULATOR = "io.promptfleet.simulator..";
  static final String DISPATCHER = "io.promptfleet.dispatcher..";
  static final String WORKER = "io.promptfleet.worker..";
  static final String CLIENT = "io.promptfleet.client..";
  static final String LAUNCHER = "io.promptfleet.launcher..";
  static final String BENCH = "io.promptfleet.bench..";

  /** A Kafka consumer: a plain one or a share consumer (KafkaConsumer, KafkaShareConsumer, their mocks). */
  static final DescribedPredicate<JavaClass> KAFKA_CONSUMER =
      assignableTo(Consumer.class).or(assignableTo(ShareConsumer.class)).as("a Kafka consumer");
  /** A Kafka share consumer only. */
  static final DescribedPredicate<JavaClass> KAFKA_SHARE_CONSUMER =
      assignableTo(ShareConsumer.class).as("a Kafka share consumer");
  /** A Kafka producer. */
  static final DescribedPredicate<JavaClass> KAFKA_PRODUCER = assignableTo(Producer.class).as("a Kafka producer");
  /** A Kafka admin client. */
  static final DescribedPredicate<JavaClass> KAFKA_ADMIN = assignableTo(Admin.class).as("a Kafka admin client");
  /**
   * Any Kafka client object. Records, offsets, assignor and listener interfaces are data or callbacks, not
   * clients, and may be used anywhere Kafka may be.
   */
  static final DescribedPredicate<JavaClass> KAFKA_CLIENT =
      KAFKA_CONSUMER.or(KAFKA_PRODUCER).or(KAFKA_ADMIN).as("a Kafka consumer, producer or admin client");

  private ProductionClasses() {}
}
