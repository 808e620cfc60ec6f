package io.promptfleet.worker.stream.sse;

import java.util.ArrayList;
import java.util.List;

/** Records everything a parser reports, in order. */
final class RecordingListener implements SseListener {

  /** One dispatched event. */
  record Event(String type, String data, String lastEventId) {
    static Event message(String data) {
      return new Event("message", data, "");
    }
  }

  final List<Event> events = new ArrayList<>();
  final List<Long> retries = new ArrayList<>();
  int comments;

  @Override
  public void onEvent(String type, String data, String lastEventId) {
    events.add(new Event(type, data, lastEventId));
  }

  @Override
  public void onComment() {
    comments++;
  }

  @Override
  public void onRetry(long millis) {
    retries.add(millis);
  }
}
