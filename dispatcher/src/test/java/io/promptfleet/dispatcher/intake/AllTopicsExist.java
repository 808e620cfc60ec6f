package io.promptfleet.dispatcher.intake;

/** A topic listing in which every reply topic exists: for cores under test. */
public final class AllTopicsExist implements ReplyTopics {
  @Override
  public boolean listed(String topic) {
    return true;
  }

  @Override
  public boolean ready() {
    return true;
  }

  @Override
  public long ticket() {
    return 0;
  }

  @Override
  public Boolean answer(String topic, long ticket) {
    return Boolean.TRUE;
  }
}
