package io.promptfleet.simulator;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * Every fault the simulator can inject, and every answer shape it can produce, with the name used in prompt
 * directives ({@code [[sim:NAME key=value ...]]}).
 *
 * <p>Two families share one directive grammar and one {@link FaultPlan}: <em>faults</em> change whether and
 * how a response fails or is framed (counted by {@link SimulatorStats#faultedRequests()}); <em>answer
 * shapes</em> ({@link #shapesAnswer()}: tool calls, legacy function call, reasoning, refusal, exact reply,
 * cached prompt tokens) change what a successful answer says, and combine with faults (e.g. a tool-call
 * stream that is cut after 3 chunks). Where a fault counts "content chunks" ({@code after}, {@code every})
 * it counts the answer's chunks after the role chunk, whatever they carry (content, reasoning, refusal,
 * tool-call header or arguments fragment).
 *
 * <p>To add a kind: add a constant here, a factory (and withers for its parameters) on {@link Fault},
 * a case in the directive parser ({@code internal.Directives}) and its behaviour in
 * {@code internal.ResponsePlan} (faults) or {@code internal.AnswerBuilder} (answer shapes).
 *
 * <p>Immutable and thread-safe.
 */
public enum FaultKind {
  /** Answer with an HTTP error status and an OpenAI-style error body. Parameters: {@code code}. */
  STATUS("status"),
  /** Close the connection before any response header is sent. */
  RESET("reset"),
  /** Stream {@code after} content chunks, then close the connection (no finish, usage or [DONE]). */
  CUT("cut"),
  /** Stream {@code after} content chunks, then send nothing more and keep the connection open. */
  STALL("stall"),
  /**
   * Stream {@code after} content chunks, then an SSE error event; then the response ends properly (so only
   * the event itself tells the client) and the connection is closed.
   */
  ERROR_EVENT("error_event"),
  /** A complete stream (finish and usage chunks) without the final {@code data: [DONE]}. */
  NO_DONE("no_done"),
  /** After {@code after} content chunks insert one {@code data: {not json} event, then go on normally. */
  BAD_JSON("bad_json"),
  /** After the role chunk write {@code bytes} bytes of {@code 'x'} without a newline, then close. */
  GIANT_LINE("giant_line"),
  /** A normal stream with an SSE comment {@code : keep-alive} after every {@code every} content chunks. */
  KEEPALIVE("keepalive"),
  /** A normal stream whose lines end in CRLF instead of LF. */
  CRLF("crlf"),
  /** Override the pacing (time to first token, tokens per second) of this request. */
  SLOW("slow"),
  /**
   * Answer shape: {@code n} parallel tool calls streamed as OpenAI does ({@code delta.tool_calls} headers and
   * {@code arguments} fragments of at most {@code split} characters), finish reason {@code tool_calls};
   * {@code text=true} streams a short content sentence first.
   */
  TOOL_CALLS("tool_calls", true),
  /** Answer shape: a legacy {@code delta.function_call} in fragments of {@code split}, finish reason {@code function_call}. */
  FUNCTION_CALL("function_call", true),
  /**
   * Answer shape: {@code tokens} reasoning deltas ({@code reasoning_content} or {@code reasoning}) before the
   * answer, spread over {@code ms}; {@code hidden=true} only counts (and waits for) them, as OpenAI does.
   */
  REASONING("reasoning", true),
  /** Answer shape: a refusal ({@code delta.refusal}, {@code content} null), finish reason {@code stop}. */
  REFUSAL("refusal", true),
  /** Answer shape: exactly the UTF-8 text given as {@code b64}, in content chunks of {@code chunk} characters. */
  REPLY("reply", true),
  /** Answer shape: report {@code tokens} cached prompt tokens ({@code usage.prompt_tokens_details.cached_tokens}). */
  CACHED("cached", true);

  private final String directiveName;
  private final boolean shapesAnswer;

  FaultKind(String directiveName) {
    this(directiveName, false);
  }

  FaultKind(String directiveName, boolean shapesAnswer) {
    this.directiveName = directiveName;
    this.shapesAnswer = shapesAnswer;
  }

  /**
   * True for the answer shapes (tool calls, function call, reasoning, refusal, reply, cached): they change
   * what a successful answer says rather than inject a failure, and do not count as faulted requests.
   */
  public boolean shapesAnswer() {
    return shapesAnswer;
  }

  /** The name used in {@code [[sim:NAME ...]]} directives, e.g. {@code error_event}. */
  public String directiveName() {
    return directiveName;
  }

  /** Looks up a kind by its directive name (case-insensitive). */
  public static Optional<FaultKind> fromDirectiveName(String name) {
    String wanted = name.toLowerCase(Locale.ROOT);
    return Arrays.stream(values()).filter(k -> k.directiveName.equals(wanted)).findFirst();
  }
}
