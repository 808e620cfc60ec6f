package io.promptfleet.dispatcher.sim;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.dispatcher.capacity.KeyPool;
import io.promptfleet.dispatcher.intake.Inbound;
import io.promptfleet.dispatcher.intake.Outbox;
import io.promptfleet.dispatcher.intake.ReplyTopics;
import io.promptfleet.dispatcher.JobPartitions;
import io.promptfleet.dispatcher.transaction.RecordSink;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.time.Clock;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.DoubleSupplier;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * One {@code DispatcherCore}, driven from outside its package. The core is package-private (only its loop owner,
 * {@code Dispatcher}, and tests in its package see it), and this simulation lives in a package of its own, so the
 * calls go through method handles; every method here is one method of the core with the same name and meaning.
 * A renamed or re-typed core method fails the first call with the name of the method, not silently.
 *
 * <p>Read-only views of two collaborators ({@link #keys()}, {@link #outbox()}) let the simulation compare the
 * core's lease table and pending answers with its own model; nothing here changes the core's state except through
 * the core's own methods.
 *
 * <p>Not thread-safe: the simulation's one thread owns it, as the dispatcher thread owns the real core.
 */
final class CoreDriver {
  private static final String CORE = "io.promptfleet.dispatcher.DispatcherCore";
  private static final Handles H = new Handles();

  private final Object core;

  CoreDriver(FleetConfig config, Clock clock, DoubleSupplier random, String instanceId) {
    try {
      this.core = H.ctor.invoke(config, new SimpleMeterRegistry(), clock, random, instanceId,
          "pf-dispatcher-" + instanceId);
    } catch (Throwable e) {
      throw rethrow(e);
    }
  }

  long readFromMs(long nowMs) {
    return (long) call(H.readFromMs, nowMs);
  }

  void activate(String leasePrefix, ReplyTopics topics, List<Inbound> assignments, List<Inbound> feedback,
      long nowMs) {
    call(H.activate, leasePrefix, topics, assignments, feedback, nowMs);
  }

  void standBy() {
    call(H.standBy);
  }

  void revoked(Collection<TopicPartition> partitions) {
    call(H.revoked, partitions);
  }

  void feedback(Inbound r, long nowMs) {
    call(H.feedback, r, nowMs);
  }

  void readingFrom(Map<TopicPartition, OffsetAndMetadata> committed) {
    call(H.readingFrom, committed);
  }

  void spillEnd(TopicPartition tp, long endOffset) {
    call(H.spillEnd, tp, endOffset);
  }

  void spillWritten(TopicPartition tp, long offset) {
    call(H.spillWritten, tp, offset);
  }

  void job(Inbound r, long nowMs) {
    call(H.job, r, nowMs);
  }

  void settle(long nowMs, JobPartitions partitions) {
    call(H.settle, nowMs, partitions);
  }

  void write(RecordSink sink, long nowMs) {
    call(H.write, sink, nowMs);
  }

  @SuppressWarnings("unchecked")
  Map<TopicPartition, OffsetAndMetadata> offsetsToCommit() {
    return (Map<TopicPartition, OffsetAndMetadata>) call(H.offsetsToCommit);
  }

  void committed(Map<TopicPartition, OffsetAndMetadata> commit) {
    call(H.committed, commit);
  }

  void aborted(long nowMs) {
    call(H.aborted, nowMs);
  }

  boolean hasWork() {
    return (boolean) call(H.hasWork);
  }

  void publishStatus(long nowMs, boolean active) {
    call(H.publishStatus, nowMs, active);
  }

  /** The core's key pool: its lease table and windows (read only, please). */
  KeyPool keys() {
    return (KeyPool) field(H.keys);
  }

  /** The answers decided and not yet written (read only, please). */
  Outbox outbox() {
    return (Outbox) field(H.outbox);
  }

  private Object field(Field f) {
    try {
      return f.get(core);
    } catch (IllegalAccessException e) {
      throw new IllegalStateException(e);
    }
  }

  private Object call(MethodHandle m, Object... args) {
    Object[] all = new Object[args.length + 1];
    all[0] = core;
    System.arraycopy(args, 0, all, 1, args.length);
    try {
      return m.invokeWithArguments(all);
    } catch (Throwable e) {
      throw rethrow(e);
    }
  }

  private static RuntimeException rethrow(Throwable e) {
    if (e instanceof RuntimeException r) {
      throw r;
    }
    if (e instanceof Error err) {
      throw err;
    }
    throw new IllegalStateException(e);
  }

  /** The core's constructor, methods and two fields, looked up once. */
  private static final class Handles {
    final MethodHandle ctor;
    final MethodHandle readFromMs;
    final MethodHandle activate;
    final MethodHandle standBy;
    final MethodHandle revoked;
    final MethodHandle feedback;
    final MethodHandle readingFrom;
    final MethodHandle spillEnd;
    final MethodHandle spillWritten;
    final MethodHandle job;
    final MethodHandle settle;
    final MethodHandle write;
    final MethodHandle offsetsToCommit;
    final MethodHandle committed;
    final MethodHandle aborted;
    final MethodHandle hasWork;
    final MethodHandle publishStatus;
    final Field keys;
    final Field outbox;

    Handles() {
      try {
        Class<?> c = Class.forName(CORE);
        MethodHandles.Lookup l = MethodHandles.privateLookupIn(c, MethodHandles.lookup());
        ctor = l.findConstructor(c, MethodType.methodType(void.class, FleetConfig.class,
            io.micrometer.core.instrument.MeterRegistry.class, Clock.class, DoubleSupplier.class, String.class,
            String.class));
        readFromMs = l.findVirtual(c, "readFromMs", MethodType.methodType(long.class, long.class));
        Class<?> rebuilt = Class.forName("io.promptfleet.dispatcher.ha.Takeover$Rebuilt");
        activate = l.findVirtual(c, "activate", MethodType.methodType(rebuilt, String.class, ReplyTopics.class,
            List.class, List.class, long.class));
        standBy = l.findVirtual(c, "standBy", MethodType.methodType(void.class));
        revoked = l.findVirtual(c, "revoked", MethodType.methodType(void.class, Collection.class));
        feedback = l.findVirtual(c, "feedback", MethodType.methodType(void.class, Inbound.class, long.class));
        readingFrom = l.findVirtual(c, "readingFrom", MethodType.methodType(void.class, Map.class));
        spillEnd = l.findVirtual(c, "spillEnd", MethodType.methodType(void.class, TopicPartition.class,
            long.class));
        spillWritten = l.findVirtual(c, "spillWritten", MethodType.methodType(void.class,
            TopicPartition.class, long.class));
        job = l.findVirtual(c, "job", MethodType.methodType(void.class, Inbound.class, long.class));
        settle = l.findVirtual(c, "settle", MethodType.methodType(void.class, long.class,
            JobPartitions.class));
        write = l.findVirtual(c, "write", MethodType.methodType(void.class, RecordSink.class, long.class));
        offsetsToCommit = l.findVirtual(c, "offsetsToCommit", MethodType.methodType(Map.class));
        committed = l.findVirtual(c, "committed", MethodType.methodType(void.class, Map.class));
        aborted = l.findVirtual(c, "aborted", MethodType.methodType(void.class, long.class));
        hasWork = l.findVirtual(c, "hasWork", MethodType.methodType(boolean.class));
        publishStatus = l.findVirtual(c, "publishStatus", MethodType.methodType(void.class, long.class,
            boolean.class));
        keys = c.getDeclaredField("keys");
        keys.setAccessible(true);
        outbox = c.getDeclaredField("outbox");
        outbox.setAccessible(true);
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException("DispatcherCore changed its shape; update the simulation's CoreDriver: " + e,
            e);
      }
    }
  }
}
