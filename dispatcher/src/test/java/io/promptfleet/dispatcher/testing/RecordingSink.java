package io.promptfleet.dispatcher.testing;

import io.promptfleet.dispatcher.transaction.Outbound;
import io.promptfleet.dispatcher.transaction.RecordSink;
import java.util.ArrayList;
import java.util.List;

/**
 * A transaction that keeps what is sent to it; {@link #failOnSend} makes every send (or, with {@link #failTopic},
 * every send to that topic) fail as Kafka would.
 */
public final class RecordingSink implements RecordSink {
  public final List<Outbound> sent = new ArrayList<>();
  public int begun;
  public boolean open;
  public RuntimeException failOnSend;
  public String failTopic;

  @Override
  public void begin() {
    if (!open) {
      open = true;
      begun++;
    }
  }

  @Override
  public void send(Outbound record) {
    if (failOnSend != null && (failTopic == null || failTopic.equals(record.topic()))) {
      throw failOnSend;
    }
    sent.add(record);
  }

  /** The records sent to {@code topic}. */
  public List<Outbound> to(String topic) {
    return sent.stream().filter(o -> o.topic().equals(topic)).toList();
  }

  /** A new transaction: nothing sent, nothing open. */
  public void reset() {
    sent.clear();
    open = false;
  }
}
