package io.promptfleet.worker.poll;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Assignment;
import io.promptfleet.common.job.LeaseOutcome;
import io.promptfleet.common.job.Reply;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.RetryRequest;
import io.promptfleet.common.kafka.TopicPartitions;
import io.promptfleet.worker.arrival.ArrivalRule;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether a redelivered assignment was answered already. A worker publishes an attempt's terminal record (a result
 * on the job's reply topic, or a retry request on the retry topic), then acknowledges the assignment (ACCEPT); one
 * that dies between the two leaves an answered assignment that the share group delivers again, and running it again
 * would make a second result. A share partition's new leader may deliver such an assignment again as a first
 * delivery (it lost the acquisition state), seconds after its dispatch: a late copy
 * ({@link ArrivalRule#LATE_COPY_AFTER_MS}). So before a lane hands out an assignment delivered more than once, or a
 * late copy, it looks for that
 * terminal record: a result of the job, or a retry request of the same lease, written since the assignment was
 * dispatched (at most {@code lookback} ago: the earlier delivery's lock expired within the group's lock duration of
 * its death, so its terminal record is recent). Each record is read from the one partition its key (the job id)
 * went to, the same partitioner as the worker's producer; the redeliveries of one poll share one read per
 * partition.
 *
 * <p>Owned by one lane's thread, with a consumer of its own (no group, read_committed), made on first use: most
 * lanes never see a redelivery. A check that cannot read Kafka answers "not answered" (the job runs again: at least
 * once, as before) and logs why.
 */
final class AnsweredCheck implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AnsweredCheck.class);
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  private final Map<String, Object> props;
  private final String retryTopic;
  private final Duration lookback;
  private final Clock clock;
  private KafkaConsumer<String, byte[]> consumer;

  AnsweredCheck(Map<String, Object> props, String retryTopic, Duration lookback, Clock clock) {
    this.props = props;
    this.retryTopic = retryTopic;
    this.lookback = lookback;
    this.clock = clock;
  }

  /** The terminal record each of {@code redelivered} already has, if any (absent: run it). */
  Map<ConsumerRecord<String, byte[]>, Answered> answered(List<ConsumerRecord<String, byte[]>> redelivered) {
    Map<ConsumerRecord<String, byte[]>, Answered> out = new IdentityHashMap<>();
    try {
      Map<TopicPartition, List<Wanted>> byPartition = new HashMap<>();
      for (ConsumerRecord<String, byte[]> r : redelivered) {
        Assignment a;
        try {
          a = Json.read(r.value(), Assignment.class);
        } catch (RuntimeException e) {
          continue; // the lane's listener rejects it
        }
        if (a.job() == null || a.job().jobId() == null || a.replyTo() == null || a.leaseId() == null) {
          continue;
        }
        if (r.deliveryCount().orElse((short) 1) <= 1 && !ArrivalRule.deliveredLate(a.dispatchedAt(), clock.millis())) {
          continue; // a first delivery that is not a late copy
        }
        long from = Math.max(a.dispatchedAt() == null ? 0 : a.dispatchedAt().toEpochMilli(),
            clock.millis() - lookback.toMillis());
        Wanted w = new Wanted(r, a.job().jobId(), a.leaseId(), from);
        byPartition.computeIfAbsent(partitionOf(a.replyTo(), w.jobId), k -> new ArrayList<>()).add(w);
        byPartition.computeIfAbsent(partitionOf(retryTopic, w.jobId), k -> new ArrayList<>()).add(w);
      }
      for (var e : byPartition.entrySet()) {
        scan(e.getKey(), e.getValue(), out);
      }
    } catch (RuntimeException e) {
      LOG.warn("cannot check whether {} redelivered assignments were answered already ({}); running them again",
          redelivered.size(), e.toString());
      return Map.of();
    }
    return out;
  }

  private record Wanted(ConsumerRecord<String, byte[]> record, String jobId, String leaseId, long fromMs) {}

  private KafkaConsumer<String, byte[]> consumer() {
    if (consumer == null) {
      consumer = new KafkaConsumer<>(props);
    }
    return consumer;
  }

  /** The partition the worker's producer sends records keyed {@code jobId} to (Kafka's default partitioner). */
  private TopicPartition partitionOf(String topic, String jobId) {
    int n = TopicPartitions.await(consumer(), topic, TIMEOUT).size();
    return new TopicPartition(topic, Utils.toPositive(Utils.murmur2(jobId.getBytes(StandardCharsets.UTF_8))) % n);
  }

  /** Reads {@code tp} from the earliest wanted time to its end, noting the terminal records of the wanted. */
  private void scan(TopicPartition tp, List<Wanted> wanted, Map<ConsumerRecord<String, byte[]>, Answered> out) {
    Map<String, List<Wanted>> byJob = new HashMap<>();
    long from = Long.MAX_VALUE;
    for (Wanted w : wanted) {
      if (!out.containsKey(w.record())) {
        byJob.computeIfAbsent(w.jobId(), k -> new ArrayList<>()).add(w);
        from = Math.min(from, w.fromMs());
      }
    }
    if (byJob.isEmpty()) {
      return;
    }
    KafkaConsumer<String, byte[]> c = consumer();
    c.assign(List.of(tp));
    OffsetAndTimestamp start = c.offsetsForTimes(Map.of(tp, from), TIMEOUT).get(tp);
    long end = c.endOffsets(List.of(tp), TIMEOUT).get(tp);
    if (start == null) {
      return; // nothing written since
    }
    c.seek(tp, start.offset());
    long until = System.nanoTime() + TIMEOUT.toNanos();
    boolean retries = tp.topic().equals(retryTopic);
    while (c.position(tp, TIMEOUT) < end && System.nanoTime() < until) {
      for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(100))) {
        List<Wanted> ws = r.key() == null ? null : byJob.get(r.key());
        if (ws != null) {
          match(r, ws, retries, out);
        }
      }
    }
  }

  private static void match(ConsumerRecord<String, byte[]> r, List<Wanted> ws, boolean retries,
      Map<ConsumerRecord<String, byte[]>, Answered> out) {
    try {
      if (retries) {
        RetryRequest retry = Json.read(r.value(), RetryRequest.class);
        String lease = retry.assignment() == null ? null : retry.assignment().leaseId();
        for (Wanted w : ws) {
          if (w.leaseId().equals(lease) && r.timestamp() >= w.fromMs()) {
            out.put(w.record(), new Answered(LeaseOutcome.RETRY, r.topic() + "-" + r.partition() + "@" + r.offset()));
          }
        }
      } else if (Json.read(r.value(), Reply.class) instanceof Result res) {
        for (Wanted w : ws) {
          if (r.timestamp() >= w.fromMs()) {
            out.put(w.record(), new Answered(outcomeOf(res), r.topic() + "-" + r.partition() + "@" + r.offset()));
          }
        }
      }
    } catch (RuntimeException e) {
      // not a record of ours (another writer on a shared topic): not an answer
    }
  }

  private static LeaseOutcome outcomeOf(Result r) {
    return switch (r.status()) {
      case SUCCEEDED -> LeaseOutcome.SUCCEEDED;
      case CANCELLED -> LeaseOutcome.CANCELLED;
      default -> LeaseOutcome.FAILED;
    };
  }

  @Override
  public void close() {
    if (consumer != null) {
      consumer.close(Duration.ofSeconds(5));
      consumer = null;
    }
  }
}
