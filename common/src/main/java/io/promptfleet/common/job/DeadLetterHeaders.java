package io.promptfleet.common.job;

/**
 * The headers of a record on the dead-letter topic ({@code llm.jobs.dlq}): why it could not be a job, and where it
 * came from. The record's key and value are the original's, byte for byte.
 */
public final class DeadLetterHeaders {
  /** Why the record is not a job (UTF-8 text naming the problem). */
  public static final String REASON = "pf.dlq.reason";
  /** The topic the record was read from. */
  public static final String TOPIC = "pf.dlq.topic";
  /** Its partition, decimal. */
  public static final String PARTITION = "pf.dlq.partition";
  /** Its offset, decimal. */
  public static final String OFFSET = "pf.dlq.offset";
  /** Its timestamp, epoch milliseconds, decimal. */
  public static final String TIMESTAMP = "pf.dlq.timestamp";

  private DeadLetterHeaders() {}
}
