package io.promptfleet.dispatcher.transaction;

/**
 * Where a dispatch round's records go: the port between {@link TransactionWriter} and the loop owner, which
 * implements it with its transactional producer (a test collects the records). Called on the dispatcher thread.
 */
public interface RecordSink {

  /** Opens the round's transaction unless it is open already. */
  void begin();

  /** Sends one record in the open transaction. */
  void send(Outbound record);
}
