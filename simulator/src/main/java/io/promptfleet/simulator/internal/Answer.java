package io.promptfleet.simulator.internal;

import java.util.ArrayList;
import java.util.List;

/**
 * What one successful response says, as the sequence of chunks a stream carries: an <em>opening</em> (the
 * role chunk) and then one <em>step</em> per answer chunk: a content token, a reasoning token, a refusal
 * token, a tool call's header, or a fragment of its arguments. The non-stream {@code chat.completion} is
 * derived from the same steps, so both forms always say the same. Built by {@link AnswerBuilder}, written
 * by {@link ChunkEncoder}. Immutable and thread-safe.
 *
 * <p>The plain text answer (every step a content token) keeps just its list of tokens, so the hot path of
 * a benchmark stream is a list lookup per token, as before answer shapes existed.
 */
final class Answer {

  /** What the role chunk carries besides {@code "role":"assistant"}. */
  enum Opening {
    /** {@code "content":""}. */
    TEXT,
    /** {@code "content":null,"refusal":""}. */
    REFUSAL,
    /** {@code "content":null} and the header of call 0 (tool call, or legacy function call). */
    CALL
  }

  /** One answer chunk. */
  enum Step {
    /** {@code {"content":text}} */
    CONTENT,
    /** {@code {"reasoning_content":text}} (or {@code reasoning}) */
    REASONING,
    /** {@code {"refusal":text}} */
    REFUSAL,
    /** The header of a call: index, id, type, name, {@code "arguments":""}. */
    CALL,
    /** A fragment of a call's arguments. */
    ARGUMENTS
  }

  /** How the answer ends when it is not cut short. */
  enum Shape {
    TEXT("stop"), REFUSAL("stop"), TOOL_CALLS("tool_calls"), FUNCTION_CALL("function_call");

    final String finishReason;

    Shape(String finishReason) {
      this.finishReason = finishReason;
    }
  }

  /** One call: id (tool calls only), name and complete arguments. */
  record Call(String id, String name, String arguments) {}

  private final Shape shape;
  private final Opening opening;
  private final List<String> texts;
  private final Step[] steps;
  private final int[] callOf;
  private final List<Call> calls;
  private final String reasoningField;
  private final String finishReason;
  private final Usage usage;

  /**
   * @param shape          what kind of answer this is
   * @param opening        what the role chunk carries
   * @param texts          per step: its text (content, reasoning, refusal, arguments fragment); unused for
   *                       {@link Step#CALL}
   * @param steps          per step: its kind; null when every step is {@link Step#CONTENT}
   * @param callOf         per step: the call index of {@link Step#CALL} / {@link Step#ARGUMENTS} steps; null
   *                       without calls
   * @param calls          the calls of a tool-call or function-call answer, with their complete arguments
   * @param reasoningField JSON name of the reasoning delta field
   * @param finishReason   the finish reason ({@code length} when the answer was cut by the token limit)
   * @param usage          the token counts
   */
  Answer(Shape shape, Opening opening, List<String> texts, Step[] steps, int[] callOf, List<Call> calls,
      String reasoningField, String finishReason, Usage usage) {
    if (steps != null && steps.length != texts.size()) {
      throw new IllegalArgumentException("one kind per step");
    }
    this.shape = shape;
    this.opening = opening;
    this.texts = List.copyOf(texts);
    this.steps = steps == null ? null : steps.clone();
    this.callOf = callOf == null ? null : callOf.clone();
    this.calls = List.copyOf(calls);
    this.reasoningField = reasoningField;
    this.finishReason = finishReason;
    this.usage = usage;
  }

  Opening opening() {
    return opening;
  }

  /** Answer chunks after the role chunk. */
  int size() {
    return texts.size();
  }

  /** True when every step is a content token (the plain text answer). */
  boolean allContent() {
    return steps == null;
  }

  Step step(int i) {
    return steps == null ? Step.CONTENT : steps[i];
  }

  String text(int i) {
    return texts.get(i);
  }

  /** Index of the call a {@link Step#CALL} or {@link Step#ARGUMENTS} step belongs to. */
  int callIndex(int i) {
    return callOf[i];
  }

  /** The calls of the answer, complete. */
  List<Call> calls() {
    return calls;
  }

  /** True for a legacy {@code function_call} answer, false for tool calls. */
  boolean legacyFunctionCall() {
    return shape == Shape.FUNCTION_CALL;
  }

  /** True for a refusal answer. */
  boolean refused() {
    return shape == Shape.REFUSAL;
  }

  String reasoningField() {
    return reasoningField;
  }

  String finishReason() {
    return finishReason;
  }

  Usage usage() {
    return usage;
  }

  // ------------------------------------------------------------------ the non-stream view of the same steps

  /** {@code message.content}: the content steps; null when a call or refusal answer has none. */
  String content() {
    String joined = join(Step.CONTENT);
    return joined == null && shape == Shape.TEXT ? "" : joined;
  }

  /** The streamed reasoning text, null when none was streamed. */
  String reasoning() {
    return join(Step.REASONING);
  }

  /** {@code message.refusal}: the refusal steps, null for other answers. */
  String refusal() {
    String joined = join(Step.REFUSAL);
    return joined == null && shape == Shape.REFUSAL ? "" : joined;
  }

  /** The calls as streamed: those whose header was sent, each with the arguments fragments that were sent. */
  List<Call> sentCalls() {
    List<StringBuilder> arguments = new ArrayList<>();
    if (opening == Opening.CALL) {
      arguments.add(new StringBuilder());
    }
    for (int i = 0; i < size(); i++) {
      Step step = step(i);
      if (step == Step.CALL) {
        arguments.add(new StringBuilder());
      } else if (step == Step.ARGUMENTS) {
        arguments.get(callOf[i]).append(texts.get(i));
      }
    }
    List<Call> sent = new ArrayList<>(arguments.size());
    for (int c = 0; c < arguments.size(); c++) {
      Call call = calls.get(c);
      sent.add(new Call(call.id(), call.name(), arguments.get(c).toString()));
    }
    return sent;
  }

  private String join(Step kind) {
    if (steps == null) {
      return kind == Step.CONTENT ? String.join("", texts) : null;
    }
    StringBuilder sb = null;
    for (int i = 0; i < steps.length; i++) {
      if (steps[i] == kind) {
        sb = sb == null ? new StringBuilder() : sb;
        sb.append(texts.get(i));
      }
    }
    return sb == null ? null : sb.toString();
  }
}
