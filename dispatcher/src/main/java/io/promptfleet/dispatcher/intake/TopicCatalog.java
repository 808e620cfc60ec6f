package io.promptfleet.dispatcher.intake;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which topics exist, for the dispatcher's thread without blocking it: a set of topic names listed by an Admin
 * client on its own thread ({@code pf-topic-catalog}), every {@code refreshEveryMs} and on demand (coalesced: at
 * most one listing in flight, at least {@code minGapMs} apart).
 *
 * <p>A name missing from the set may be a topic created since the last listing, so a caller that meets an unknown
 * name takes a {@link #ticket()} and waits (without blocking) until {@link #answer(String, long)} is definite: a
 * listing that started after the ticket either has the topic or proves it missing.
 *
 * <p>Thread-safe.
 */
public final class TopicCatalog implements ReplyTopics, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(TopicCatalog.class);

  /** The result of one listing: the names, and the sequence number the listing started with. */
  private record Listing(Set<String> names, long seq) {}

  private final Admin admin;
  private final long refreshEveryMs;
  private final long minGapMs;
  private final ScheduledExecutorService thread;
  private final AtomicLong started = new AtomicLong();
  private final AtomicLong wanted = new AtomicLong();
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private volatile Listing listing;
  private volatile long lastStartNanos;
  private volatile boolean failing;

  public TopicCatalog(Map<String, Object> adminProperties, long refreshEveryMs, long minGapMs) {
    this.admin = Admin.create(adminProperties);
    this.refreshEveryMs = refreshEveryMs;
    this.minGapMs = minGapMs;
    this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "pf-topic-catalog");
      t.setDaemon(true);
      return t;
    });
  }

  /** Lists once on the caller's thread (bounded by {@code timeoutMs}), then every {@code refreshEveryMs}. */
  public TopicCatalog start(long timeoutMs) {
    list(timeoutMs);
    thread.scheduleWithFixedDelay(() -> list(10_000), refreshEveryMs, refreshEveryMs, TimeUnit.MILLISECONDS);
    return this;
  }

  /**
   * True when the last listing has the topic; false when it does not or no listing succeeded yet. Never blocks.
   */
  @Override
  public boolean listed(String topic) {
    Listing l = listing;
    return l != null && l.names().contains(topic);
  }

  /** True once a listing succeeded. */
  @Override
  public boolean ready() {
    return listing != null;
  }

  /** A ticket for a name that was not listed: asks for a fresh listing; pass it to {@link #answer}. */
  @Override
  public long ticket() {
    long t = started.get() + 1; // a listing that increments past this started after this call
    wanted.accumulateAndGet(t, Math::max);
    refreshSoon();
    return t;
  }

  /** TRUE: the topic exists; FALSE: a listing that started after the ticket does not have it; null: not yet. */
  @Override
  public Boolean answer(String topic, long ticket) {
    Listing l = listing;
    if (l == null) {
      return null;
    }
    if (l.names().contains(topic)) {
      return Boolean.TRUE;
    }
    return l.seq() >= ticket ? Boolean.FALSE : null;
  }

  private void refreshSoon() {
    if (scheduled.compareAndSet(false, true)) {
      long sinceMs = (System.nanoTime() - lastStartNanos) / 1_000_000;
      long delay = failing ? Math.max(minGapMs, 1_000) : Math.max(0, minGapMs - sinceMs);
      try {
        thread.schedule(() -> {
          scheduled.set(false);
          list(10_000);
          if (wanted.get() > seqOf(listing)) {
            refreshSoon(); // a ticket taken while this listing ran, or the listing failed
          }
        }, delay, TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.RejectedExecutionException closed) {
        scheduled.set(false);
      }
    }
  }

  private static long seqOf(Listing l) {
    return l == null ? 0 : l.seq();
  }

  private void list(long timeoutMs) {
    lastStartNanos = System.nanoTime();
    long seq = started.incrementAndGet();
    try {
      Set<String> names = admin.listTopics(new ListTopicsOptions().timeoutMs((int) timeoutMs)).names()
          .get(timeoutMs + 1_000, TimeUnit.MILLISECONDS);
      Listing prev = listing;
      if (prev == null || prev.seq() < seq) {
        listing = new Listing(Set.copyOf(names), seq);
      }
      if (failing) {
        LOG.info("listing topics works again ({} topics)", names.size());
      }
      failing = false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      if (!failing) {
        LOG.warn("cannot list topics ({}); jobs naming a reply topic not seen yet wait until it works",
            e.getCause() != null ? e.getCause() : e);
      }
      failing = true;
    }
  }

  @Override
  public void close() {
    thread.shutdownNow();
    try {
      thread.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    admin.close(java.time.Duration.ofSeconds(5));
  }
}
