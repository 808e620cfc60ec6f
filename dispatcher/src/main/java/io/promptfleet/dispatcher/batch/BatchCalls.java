package io.promptfleet.dispatcher.batch;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
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
  /** Batch statuses after which a batch changes no more. */
  static final Set<String> ENDED = Set.of("completed", "expired", "cancelled", "failed");

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
   * The batch ended: its status and every line of its output and error files ({@code failed}: none; its
   * validation errors in {@code detail}).
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
   * looks it up by its key; otherwise, or when none is found, uploads {@code lines} as one file and creates it.
   */
  void submit(long epoch, OpenAiBatchClient client, String batchKey, List<byte[]> lines, boolean lookFirst) {
    run(epoch, batchKey, true, () -> {
      try {
        if (lookFirst) {
          JsonNode found = client.find(batchKey);
          if (found != null) {
            LOG.info("batch {} was created before as {} (its record was lost with the previous dispatcher): polling "
                + "it, not creating it again", batchKey, found.path("id").asText());
            events.add(submitted(epoch, batchKey, found));
            return;
          }
        }
        int size = 0;
        for (byte[] l : lines) {
          size += l.length;
        }
        ByteArrayOutputStream file = new ByteArrayOutputStream(size);
        lines.forEach(file::writeBytes);
        String fileId = client.upload(file.toByteArray(), batchKey + ".jsonl");
        events.add(submitted(epoch, batchKey, client.create(fileId, batchKey)));
      } catch (BatchCallException e) {
        events.add(new Failed(epoch, batchKey, true, e.getMessage(), e.retriable()));
      }
    });
  }

  /** Reads the batch; when it ended, reads its output and error files too. */
  void poll(long epoch, OpenAiBatchClient client, String batchKey, String providerBatchId) {
    run(epoch, batchKey, false, () -> {
      try {
        JsonNode b = client.get(providerBatchId);
        String status = b.path("status").asText();
        if (!ENDED.contains(status)) {
          events.add(new Running(epoch, batchKey, status));
          return;
        }
        List<JsonNode> lines = new ArrayList<>();
        for (String file : new String[] {"output_file_id", "error_file_id"}) {
          String id = b.path(file).asText(null);
          if (id != null && !id.isEmpty() && !"null".equals(id)) {
            lines.addAll(client.lines(id));
          }
        }
        String detail = b.path("errors").path("data").isArray() ? b.path("errors").path("data").toString() : "";
        events.add(new Ended(epoch, batchKey, status, lines, detail));
      } catch (BatchCallException e) {
        events.add(new Failed(epoch, batchKey, false, e.getMessage(), e.retriable()));
      }
    });
  }

  /** Asks the provider to cancel the batch; reports nothing (its jobs already went live), logs a failure. */
  void cancel(OpenAiBatchClient client, String batchKey, String providerBatchId) {
    run(-1, batchKey, false, () -> {
      try {
        client.cancel(providerBatchId);
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

  private static Submitted submitted(long epoch, String batchKey, JsonNode b) {
    return new Submitted(epoch, batchKey, b.path("id").asText(), b.path("input_file_id").asText(null),
        Instant.ofEpochSecond(b.path("created_at").asLong()));
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
