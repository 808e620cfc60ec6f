package io.promptfleet.worker.stream;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.ErrorCodes;
import io.promptfleet.worker.upstream.Failure;
import io.promptfleet.worker.upstream.FailureClass;
import io.promptfleet.common.job.LeaseOutcome;
import io.promptfleet.common.job.Assignment;
import io.vertx.core.Context;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes how one attempt ended, in the order the guarantees need: once every chunk is acked, its terminal record
 * (a result or a retry request, on the job's partition after the last chunk); once Kafka acked that, its
 * {@code lease_released} event and the attempts meter; then {@code done} is told {@link Outcome#DONE}. An attempt
 * with a chunk Kafka did not take, or whose terminal record cannot be written, is handed back instead: its event
 * says {@code handed_back} and {@code done} is told {@link Outcome#HAND_BACK}.
 *
 * <p>Confined to the attempt's event loop ({@code context}): every send runs there, never on the producer's I/O
 * thread (a full buffer would block it), and {@code done} is told there. At most one of {@link #publish} and
 * {@link #handBack} is called per attempt.
 */
final class TerminalPublisher {
  private static final Logger LOG = LoggerFactory.getLogger(TerminalPublisher.class);

  private final StreamEnv env;
  private final Context context;
  private final Assignment assignment;
  private final OutcomeRecords records;
  private final ChunkSink chunks;
  private final Consumer<Outcome> done;

  TerminalPublisher(StreamEnv env, Context context, Assignment assignment, OutcomeRecords records, ChunkSink chunks,
      Consumer<Outcome> done) {
    this.env = env;
    this.context = context;
    this.assignment = assignment;
    this.records = records;
    this.chunks = chunks;
    this.done = done;
  }

  /**
   * The attempt ended in {@code ended}: its record after the chunks, then the event, then {@code done}. A result
   * larger than one record may be ({@link StreamEnv#maxResultBytes}) is replaced by a {@code failed} one with
   * {@code result_too_large} naming both sizes: a send that Kafka refuses would hand the job back again and again.
   */
  void publish(OutcomeRecords.Terminal ended) {
    chunks.allAcked().whenComplete((v0, e0) -> context.runOnContext(x -> {
      Exception gap = chunks.error();
      OutcomeRecords.Terminal t = ended;
      byte[] json = t.result() == null || gap != null ? null : Json.bytes(t.result());
      if (json != null && json.length > env.maxResultBytes()) {
        t = records.failed(new Failure(FailureClass.PERMANENT, ErrorCodes.RESULT_TOO_LARGE, "the result is "
            + json.length + " bytes, more than one reply record holds (" + env.maxResultBytes() + " bytes, the"
            + " worker producer's max.request.size less headroom)" + (assignment.job().isEmbeddings()
            ? ": send fewer inputs per job, fewer dimensions, or encoding_format base64" : ""), 200),
            env.clock().instant());
        json = Json.bytes(t.result());
      }
      publish(t, gap, json);
    }));
  }

  /** Sends the terminal record ({@code json}: the result's), then tells the event and {@code done}. */
  private void publish(OutcomeRecords.Terminal t, Exception gap, byte[] json) {
    CompletableFuture<Void> sent = gap != null ? CompletableFuture.failedFuture(gap)
        : t.retry() != null ? env.publisher().retry(t.retry())
        : env.publisher().result(assignment.replyTo(), assignment.job().jobId(), json);
    sent.whenComplete((v, e) -> context.runOnContext(y -> {
      if (e != null) {
        LOG.warn("job {} attempt {} lease {}: cannot publish its {} record, handing the assignment back: {}",
            assignment.job().jobId(), assignment.attempt(), assignment.leaseId(), t.outcome(), e.toString());
        released(LeaseOutcome.HANDED_BACK, t.failure());
        done.accept(Outcome.HAND_BACK);
      } else {
        released(t.outcome(), t.failure());
        done.accept(Outcome.DONE);
      }
    }));
  }

  /** The attempt ends with no record: the assignment goes back to the share group. */
  void handBack() {
    released(LeaseOutcome.HANDED_BACK, null);
    done.accept(Outcome.HAND_BACK);
  }

  private void released(LeaseOutcome outcome, Failure f) {
    String code = OutcomeRecords.errorCode(outcome, f);
    env.meters().attempt(outcome.wireName(), f == null ? "none" : f.kind().tag(), code == null ? "none" : code,
        assignment.route());
    env.publisher().event(records.leaseReleased(outcome, f, env.workerId(), env.clock().instant()))
        .whenComplete((v, e) -> {
          if (e != null) {
            LOG.warn("job {} lease {}: cannot publish lease_released: {}", assignment.job().jobId(),
                assignment.leaseId(), e.toString());
          }
        });
  }
}
