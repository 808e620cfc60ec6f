package io.promptfleet.dispatcher.intake;

/**
 * Which reply topics exist, answered without blocking: the port between the dispatcher's core and
 * {@link TopicCatalog} (which lists topics on its own thread). A name not listed yet may be a topic created since
 * the last listing, so a caller takes a {@link #ticket()} and waits until {@link #answer} is definite.
 *
 * <p>Implementations must be safe to call from the dispatcher thread while they refresh elsewhere.
 */
public interface ReplyTopics {

  /** True when the last listing has the topic; false when it does not or no listing succeeded yet. */
  boolean listed(String topic);

  /** True once a listing succeeded. */
  boolean ready();

  /** A ticket for a name that was not listed: asks for a fresh listing; pass it to {@link #answer}. */
  long ticket();

  /** TRUE: the topic exists; FALSE: a listing that started after the ticket does not have it; null: not yet. */
  Boolean answer(String topic, long ticket);
}
