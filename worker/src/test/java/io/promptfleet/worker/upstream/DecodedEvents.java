package io.promptfleet.worker.upstream;

import io.promptfleet.common.job.ToolCallDelta;
import io.promptfleet.common.job.Usage;
import java.util.ArrayList;
import java.util.List;

/** What a {@link StreamDecoder} said, in order, and the answer its events add up to; for decoder tests. */
public final class DecodedEvents implements StreamDecoder.Events {
  public final List<ChunkEvent> events = new ArrayList<>();
  public final List<Failure> failures = new ArrayList<>();

  @Override
  public void event(ChunkEvent e) {
    events.add(e);
  }

  @Override
  public void failure(Failure f) {
    failures.add(f);
  }

  String content() {
    StringBuilder sb = new StringBuilder();
    events.stream().filter(e -> e.content() != null).forEach(e -> sb.append(e.content()));
    return sb.toString();
  }

  String reasoning() {
    StringBuilder sb = new StringBuilder();
    events.stream().filter(e -> e.reasoning() != null).forEach(e -> sb.append(e.reasoning()));
    return sb.toString();
  }

  /** The arguments fragments of tool call {@code index}, joined. */
  String arguments(int index) {
    StringBuilder sb = new StringBuilder();
    for (ChunkEvent e : events) {
      if (e.toolCalls() != null) {
        for (ToolCallDelta d : e.toolCalls()) {
          if (d.index() == index && d.function() != null && d.function().arguments() != null) {
            sb.append(d.function().arguments());
          }
        }
      }
    }
    return sb.toString();
  }

  String finishReason() {
    return events.stream().filter(e -> e.finishReason() != null).map(ChunkEvent::finishReason)
        .reduce((a, b) -> b).orElse(null);
  }

  Usage lastUsage() {
    Usage u = null;
    for (ChunkEvent e : events) {
      u = e.usage() != null ? e.usage() : u;
    }
    return u;
  }
}
