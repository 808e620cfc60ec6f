package io.promptfleet.common.job;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * Assembles streamed tool-call fragments into whole calls: the one rule the worker assembles a result's
 * {@code message.tool_calls} with, and a reader can use to show each call as soon as it is complete. Fragments of
 * one call share an index (calls come out in index order, whatever the first index: some gateways start at 1); the
 * id, type and function name are the first non-empty ones seen (providers such as Hunyuan repeat the id and send an
 * empty name in later fragments); {@code arguments} pieces are concatenated byte for byte. Providers stream the
 * calls of a message one after another, so a fragment of a later index completes the earlier ones, and the end of
 * the message ({@link #finish}) completes the rest.
 *
 * <p>Not thread-safe; use one per attempt (a client's chunk listener is called on one thread).
 */
public final class ToolCallAssembler {
  private static final class Building {
    @Nullable String id;
    @Nullable String type;
    @Nullable String name;
    final StringBuilder arguments = new StringBuilder();
    boolean emitted;

    ToolCall call() {
      return new ToolCall(id, type == null ? "function" : type,
          new FunctionCall(name, arguments.toString()));
    }
  }

  private final Map<Integer, Building> calls = new TreeMap<>();

  /**
   * Adds a fragment and returns the calls it completed (those of lower indexes not yet returned), in index order;
   * usually none.
   */
  public List<ToolCall> add(ToolCallDelta fragment) {
    Building b = calls.computeIfAbsent(fragment.index(), i -> new Building());
    if (fragment.id() != null && !fragment.id().isEmpty() && b.id == null) {
      b.id = fragment.id();
    }
    if (fragment.type() != null && b.type == null) {
      b.type = fragment.type();
    }
    if (fragment.function() != null) {
      if (fragment.function().name() != null && !fragment.function().name().isEmpty() && b.name == null) {
        b.name = fragment.function().name();
      }
      if (fragment.function().arguments() != null) {
        b.arguments.append(fragment.function().arguments());
      }
    }
    List<ToolCall> done = new ArrayList<>();
    for (Map.Entry<Integer, Building> e : calls.entrySet()) {
      if (e.getKey() >= fragment.index()) {
        break;
      }
      if (!e.getValue().emitted) {
        e.getValue().emitted = true;
        done.add(e.getValue().call());
      }
    }
    return done;
  }

  /** The message ended (a finish reason, another kind of delta, or the result): returns the calls not returned yet. */
  public List<ToolCall> finish() {
    List<ToolCall> done = new ArrayList<>();
    for (Building b : calls.values()) {
      if (!b.emitted) {
        b.emitted = true;
        done.add(b.call());
      }
    }
    return done;
  }

  /** Every call seen so far, in index order, complete or not. */
  public List<ToolCall> calls() {
    List<ToolCall> all = new ArrayList<>();
    calls.values().forEach(b -> all.add(b.call()));
    return all;
  }

  /** Whether no fragment was added. */
  public boolean isEmpty() {
    return calls.isEmpty();
  }

  /** Forgets everything (a new attempt started). */
  public void reset() {
    calls.clear();
  }
}
