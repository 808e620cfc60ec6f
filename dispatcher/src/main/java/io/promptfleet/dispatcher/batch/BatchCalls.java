package io.promptfleet.dispatcher.batch;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The batcher's provider calls, each on one named daemon thread ({@code pf-batcher}), so that no upload, poll or
 * download blocks the dispatcher thread. Each call reports back as an {@link Event} on a queue that the dispatcher
 * thread drains between rounds ({@link #drain}); an event carries the term ({@code epoch}) it was asked in, so a
 * dispatcher that stood by and became active again ignores the answers of its former term.
 *
 * <p>Thread-safe: calls are asked from the dispatcher thread, run on the batcher thread, reported on a concurrent
 * queue.
 */
final class BatchCalls implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(BatchCalls.class);

  /** What a call found. */
  sealed interface Event {
    long epoch();

    String batchKey();
  }

  /** The batch exists at the provider (created now, or found by its key after a crash). */
  record Submitted(long epoch, String batchKey, String providerBatchId, String inputFileId, Instant createdAt)
      implements Event {}

  /** A poll found the batch still running. */
  record Running(long epoch, String batchKey, String status) implements Event {}

  /**
   * The batch ended: its status and every result line (an OpenAI batch that {@code failed}: none, its validation
   * errors in {@code detail}).
   */
  record Ended(long epoch, String batchKey, String status, List<JsonNode> lines, String detail) implements Event {}

  /** A submission or poll did not succeed. */
  record Failed(long epoch, String batchKey, boolean submitting, String message, boolean retriable)
      implements Event {}

  private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "pf-batcher");
    t.setDaemon(true);
    return t;
  });
  private final Queue<Event> events = new ConcurrentLinkedQueue<>();

  /**
   * Submits a batch: when {@code lookFirst} (a batch a predecessor may have created without recording it), first
   * looks it up ({@link BatchApi#find}); otherwise, or when none is found, creates it from {@code lines}.
   *
   * @param known provider batch ids recorded for other batches (never the one looked for)
   */
  void submit(long epoch, BatchApi api, BatchRecords.Batch record, List<byte[]> lines, boolean lookFirst,
      Set<String> known) {
    String batchKey = record.batchKey();
    run(epoch, batchKey, true, () -> {
      try {
        if (lookFirst) {
          BatchApi.Created found = api.find(record, lines.size(), known);
          if (found != null) {
            LOG.info("batch {} was created before as {} (its record was lost with the previous dispatcher): polling "
                + "it, not creating it again", batchKey, found.providerBatchId());
            events.add(submitted(epoch, batchKey, found));
            return;
          }
        }
        events.add(submitted(epoch, batchKey, api.create(record, lines)));
      } catch (BatchCallException e) {
        events.add(new Failed(epoch, batchKey, true, e.getMessage(), e.retriable()));
      }
    });
  }

  /** Reads the batch; when it ended, its results too. */
  void poll(long epoch, BatchApi api, String batchKey, String providerBatchId) {
    run(epoch, batchKey, false, () -> {
      try {
        BatchApi.Polled p = api.poll(providerBatchId);
        events.add(p.ended() ? new Ended(epoch, batchKey, p.status(), p.lines(), p.detail())
            : new Running(epoch, batchKey, p.status()));
      } catch (BatchCallException e) {
        events.add(new Failed(epoch, batchKey, false, e.getMessage(), e.retriable()));
      }
    });
  }

  /** Asks the provider to cancel the batch; reports nothing (its jobs already went live), logs a failure. */
  void cancel(BatchApi api, String batchKey, String providerBatchId) {
    run(-1, batchKey, false, () -> {
      try {
        api.cancel(providerBatchId);
      } catch (BatchCallException e) {
        LOG.warn("batch {} ({}): the provider did not take its cancel: {}", batchKey, providerBatchId,
            e.getMessage());
      }
    });
  }

  /** Every event reported since the last drain, oldest first. */
  List<Event> drain() {
    List<Event> out = new ArrayList<>();
    for (Event e; (e = events.poll()) != null; ) {
      out.add(e);
    }
    return out;
  }

  private static Submitted submitted(long epoch, String batchKey, BatchApi.Created c) {
    return new Submitted(epoch, batchKey, c.providerBatchId(), c.inputFileId(), c.createdAt());
  }

  /** Runs {@code call} on the batcher thread; an unexpected failure is reported as a retriable one. */
  private void run(long epoch, String batchKey, boolean submitting, Runnable call) {
    try {
      thread.execute(() -> {
        try {
          call.run();
        } catch (RuntimeException e) {
          LOG.error("batch {}: a provider call failed unexpectedly", batchKey, e);
          events.add(new Failed(epoch, batchKey, submitting, e.toString(), true));
        }
      });
    } catch (RejectedExecutionException e) {
      LOG.debug("batch {}: the batcher is closed", batchKey);
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
  }
}
