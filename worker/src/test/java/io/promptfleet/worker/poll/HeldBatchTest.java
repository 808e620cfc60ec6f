package io.promptfleet.worker.poll;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.worker.poll.HeldBatch.Step;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.junit.jupiter.api.Test;

/** A lane's batch bookkeeping, without Kafka: records are plain values, the consumer a list of orders. */
class HeldBatchTest {
  /** One delivery of a record: a renewed record comes back from poll as a new object ({@code delivery} + 1). */
  record Rec(int partition, long offset, int delivery) {
    Rec back() {
      return new Rec(partition, offset, delivery + 1);
    }
  }

  /** An order to the consumer. */
  record Order(Rec record, AcknowledgeType type) {}

  private static final long T = 1_000_000;
  private static final Rec A = new Rec(0, 1, 1);
  private static final Rec B = new Rec(0, 2, 1);
  private static final Rec C = new Rec(1, 1, 1);

  private final List<Order> consumer = new ArrayList<>();
  private final HeldBatch<Rec> batch = new HeldBatch<>(r -> ((long) r.partition() << 48) ^ r.offset(),
      (r, type) -> consumer.add(new Order(r, type)), Duration.ofMillis(1_000), Duration.ofSeconds(5));

  @Test
  void shouldPollForNewWorkOnlyOnceTheWholeBatchIsAcknowledged() {
    assertThat(batch.next(T, true)).isEqualTo(Step.POLL);

    assertThat(batch.polled(List.of(A, B, C), T)).containsExactly(A, B, C);
    assertThat(batch.size()).isEqualTo(3);
    batch.acknowledge(A, AcknowledgeType.ACCEPT);
    batch.acknowledge(B, AcknowledgeType.RELEASE);
    assertThat(batch.next(T, true)).isEqualTo(Step.AWAIT_ACKS);
    batch.acknowledge(C, AcknowledgeType.REJECT);

    assertThat(batch.next(T, true)).isEqualTo(Step.POLL);
    assertThat(batch.size()).isZero();
    assertThat(consumer).containsExactly(new Order(A, AcknowledgeType.ACCEPT), new Order(B, AcknowledgeType.RELEASE),
        new Order(C, AcknowledgeType.REJECT));
  }

  @Test
  void shouldLeaveTheGroupOnlyOnceItStoppedPollingAndItsBatchIsDone() {
    batch.polled(List.of(A), T);

    assertThat(batch.next(T, false)).as("the batch still runs").isEqualTo(Step.AWAIT_ACKS);
    batch.acknowledge(A, AcknowledgeType.ACCEPT);
    assertThat(batch.next(T, false)).isEqualTo(Step.LEAVE);
  }

  @Test
  void shouldRenewEveryHeldRecordWhenTheFirstRenewalIsDueAndThenRepoll() {
    batch.polled(List.of(A, B), T);

    assertThat(batch.next(T + 999, true)).isEqualTo(Step.AWAIT_ACKS);
    assertThat(batch.next(T + 1_000, true)).isEqualTo(Step.RENEW);
    assertThat(batch.renewAll(T + 1_000)).isEqualTo(2);

    assertThat(consumer).containsExactly(new Order(A, AcknowledgeType.RENEW), new Order(B, AcknowledgeType.RENEW));
    assertThat(batch.renewing()).isTrue();
    assertThat(batch.next(T + 1_000, true)).isEqualTo(Step.REPOLL);
    assertThat(batch.polled(List.of(A.back(), B.back()), T + 1_010)).as("nothing new comes with them").isEmpty();
    assertThat(batch.lost(T + 1_010)).isEmpty();
    assertThat(batch.renewing()).isFalse();
    assertThat(batch.next(T + 1_999, true)).isEqualTo(Step.AWAIT_ACKS);
    assertThat(batch.next(T + 2_000, true)).as("next renewal, a renewal period after the last").isEqualTo(Step.RENEW);
  }

  @Test
  void shouldRenewAtHalfTheGroupsLockWhenThatIsSooner() {
    batch.lockTimeout(600);
    batch.polled(List.of(A), T);
    assertThat(batch.next(T + 300, true)).isEqualTo(Step.RENEW);

    batch.acknowledge(A, AcknowledgeType.ACCEPT);
    batch.lockTimeout(null);
    batch.polled(List.of(B), T);
    assertThat(batch.next(T + 999, true)).isEqualTo(Step.AWAIT_ACKS);
  }

  @Test
  void shouldHoldAnAcknowledgementForARenewedRecordUntilThePollBringsItBack() {
    batch.polled(List.of(A, B), T);
    batch.renewAll(T + 1_000);
    consumer.clear();

    batch.acknowledge(A, AcknowledgeType.ACCEPT);
    assertThat(consumer).as("the consumer does not hold A now").isEmpty();
    assertThat(batch.size()).isEqualTo(2);

    batch.polled(List.of(A.back(), B.back()), T + 1_020);

    assertThat(consumer).as("acknowledged on the object the poll returned")
        .containsExactly(new Order(A.back(), AcknowledgeType.ACCEPT));
    assertThat(batch.size()).isEqualTo(1);
    assertThat(batch.commitDue(T + 1_020)).isTrue();
  }

  @Test
  void shouldGiveUpOnARenewedRecordThatDoesNotComeBackWithinLostAfter() {
    batch.polled(List.of(A, B), T);
    batch.renewAll(T + 1_000);

    batch.polled(List.of(A.back()), T + 1_100);
    assertThat(batch.lost(T + 1_100)).isEmpty();
    assertThat(batch.next(T + 1_100, true)).isEqualTo(Step.REPOLL);
    batch.polled(List.of(), T + 6_000);
    assertThat(batch.lost(T + 6_000)).as("5 s, not more").isEmpty();
    batch.polled(List.of(), T + 6_001);

    assertThat(batch.lost(T + 6_001)).containsExactly(B);
    assertThat(batch.size()).isEqualTo(1);
    assertThat(batch.renewing()).isFalse();
    batch.acknowledge(B, AcknowledgeType.ACCEPT);
    assertThat(consumer).as("a lost record is never acknowledged").doesNotContain(new Order(B, AcknowledgeType.ACCEPT));
  }

  @Test
  void shouldIgnoreASecondAcknowledgementAndOneForARecordItDoesNotHold() {
    batch.polled(List.of(A, B), T);

    batch.acknowledge(A, AcknowledgeType.ACCEPT);
    batch.acknowledge(A, AcknowledgeType.RELEASE);
    batch.acknowledge(C, AcknowledgeType.ACCEPT);

    assertThat(consumer).containsExactly(new Order(A, AcknowledgeType.ACCEPT));
    assertThat(batch.size()).isEqualTo(1);
  }

  @Test
  void shouldCommitAcknowledgementsOfABatchThatStillHoldsRecordsAtMostEvery50Ms() {
    batch.polled(List.of(A, B, C), T);
    assertThat(batch.commitDue(T)).as("nothing acknowledged").isFalse();

    batch.acknowledge(A, AcknowledgeType.ACCEPT);
    assertThat(batch.commitDue(T)).isTrue();
    batch.committed(T);
    batch.acknowledge(B, AcknowledgeType.ACCEPT);
    assertThat(batch.commitDue(T + 49)).isFalse();
    assertThat(batch.commitDue(T + 50)).isTrue();
    batch.acknowledge(C, AcknowledgeType.ACCEPT);
    assertThat(batch.commitDue(T + 50)).as("an empty batch: the next poll carries them").isFalse();
  }

  @Test
  void shouldCountAcknowledgementsAsSentByThePoll() {
    batch.polled(List.of(A, B), T);
    batch.acknowledge(A, AcknowledgeType.ACCEPT);

    batch.polled(List.of(), T);

    assertThat(batch.commitDue(T + 1_000)).isFalse();
  }

  @Test
  void shouldReleaseOnCloseEveryHeldRecordButThoseOutForRenewal() {
    batch.polled(List.of(A, B), T);
    batch.renewAll(T + 1_000);
    batch.polled(List.of(A.back()), T + 1_010);
    consumer.clear();

    assertThat(batch.releaseAll()).isEqualTo(1);

    assertThat(consumer).containsExactly(new Order(A.back(), AcknowledgeType.RELEASE));
    assertThat(batch.size()).isZero();
    assertThat(batch.isEmpty()).isTrue();
  }

  @Test
  void shouldForgetEveryRecordWithoutAnOrderWhenTheConsumerFailed() {
    batch.polled(List.of(A, B), T);
    batch.renewAll(T + 1_000);
    batch.polled(List.of(A.back()), T + 1_010);
    consumer.clear();

    assertThat(batch.abandon()).as("the records it held, B still out for renewal").containsExactly(A.back(), B);

    assertThat(consumer).as("no order to a failed consumer").isEmpty();
    assertThat(batch.size()).isZero();
    assertThat(batch.next(T + 1_020, true)).as("a new consumer polls at once").isEqualTo(Step.POLL);
    assertThat(batch.polled(List.of(C), T + 1_030)).containsExactly(C);
    assertThat(batch.next(T + 1_030, true)).as("no re-poll pending from the old consumer's renewal")
        .isEqualTo(Step.AWAIT_ACKS);
    batch.acknowledge(A, AcknowledgeType.ACCEPT);
    assertThat(consumer).as("a late acknowledgement of a forgotten record").isEmpty();
  }
}
