package io.promptfleet.simulator;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;
import java.util.Objects;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * One fault to inject into a simulated response: what goes wrong ({@link #kind()}), its parameters, and
 * when it applies ({@link #times(int)}, {@link #probability(double)}).
 *
 * <p>A fault is chosen per request, either from a directive in the last user message (see
 * {@link #toDirective()} for the syntax) or from the provider's {@link FaultPlan}:
 *
 * <pre>{@code
 * String prompt = "hello " + Fault.status(503).times(1).toDirective(); // "[[sim:status code=503 times=1]]"
 * provider.faults().forKey("Bearer k1", Fault.status(429).retryAfterMs(200));
 * provider.faults().forAll(Fault.status(500).probability(0.3));
 * }</pre>
 *
 * <p>The same class describes the <em>answer shapes</em> ({@link FaultKind#shapesAnswer()}): what a
 * successful answer says instead of lorem-ipsum text.
 *
 * <pre>{@code
 * "call a tool " + Fault.toolCalls(2).split(5).toDirective();          // "[[sim:tool_calls n=2 split=5]]"
 * "think first " + Fault.reasoning(20).reasoningMs(3000).toDirective(); // "[[sim:reasoning tokens=20 ms=3000]]"
 * Fault.reply("{\"ok\":true}").times(1).toDirective();                 // "[[sim:reply b64=eyJvayI6dHJ1ZX0= chunk=4 times=1]]"
 * }</pre>
 *
 * <p>Immutable and thread-safe: every "wither" returns a new instance and validates its argument, with a
 * message naming the directive parameter (e.g. {@code "after must be >= 0, was -1"}).
 */
public final class Fault {

  /** Default size of a {@link FaultKind#GIANT_LINE} line: 4 MiB. */
  public static final int DEFAULT_GIANT_LINE_BYTES = 4 * 1024 * 1024;
  /** Largest accepted {@link FaultKind#GIANT_LINE} line: 256 MiB. */
  public static final int MAX_GIANT_LINE_BYTES = 256 * 1024 * 1024;
  /** Default number of content chunks before a {@code cut}, {@code stall}, {@code error_event} or {@code bad_json}. */
  public static final int DEFAULT_AFTER = 1;
  /** Default largest {@code arguments} fragment of {@code tool_calls} and {@code function_call}, in characters. */
  public static final int DEFAULT_SPLIT = 8;
  /** Default number of reasoning tokens of a {@code reasoning} directive. */
  public static final int DEFAULT_REASONING_TOKENS = 16;
  /** Default characters per content chunk of a {@code reply}. */
  public static final int DEFAULT_REPLY_CHUNK = 4;
  /** Most parallel tool calls of one {@code tool_calls} answer. */
  public static final int MAX_TOOL_CALLS = 128;
  /** Most reasoning tokens of one {@code reasoning} directive. */
  public static final int MAX_REASONING_TOKENS = 100_000;

  /** The delta field that carries streamed reasoning text. */
  public enum ReasoningField {
    /** {@code reasoning_content}: DeepSeek, vLLM before 0.10. */
    REASONING_CONTENT("reasoning_content"),
    /** {@code reasoning}: vLLM 0.10 and later, OpenRouter. */
    REASONING("reasoning");

    private final String jsonName;

    ReasoningField(String jsonName) {
      this.jsonName = jsonName;
    }

    /** The JSON field name, also the directive value ({@code field=reasoning_content}). */
    public String jsonName() {
      return jsonName;
    }
  }

  /** How an {@link FaultKind#ERROR_EVENT} is framed on the wire. */
  public enum ErrorEventForm {
    /** {@code data: {"error":{...}}} */
    DATA,
    /** {@code event: error} followed by {@code data: {"error":{...}}} */
    EVENT
  }

  private final FaultKind kind;
  private final int statusCode;
  private final int after;
  private final int every;
  private final int bytes;
  private final ErrorEventForm form;
  private final Long retryAfterMs;
  private final Long retryAfterSeconds;
  private final Long retryAfterDateSeconds;
  private final boolean quota;
  private final Long ttftMs;
  private final Double tokensPerSecond;
  private final int calls;
  private final int split;
  private final boolean withText;
  private final int tokens;
  private final Long reasoningMs;
  private final ReasoningField field;
  private final boolean hidden;
  private final String replyText;
  private final int chunk;
  private final Integer times;
  private final double probability;

  private Fault(Builder b) {
    this.kind = b.kind;
    this.statusCode = b.statusCode;
    this.after = b.after;
    this.every = b.every;
    this.bytes = b.bytes;
    this.form = b.form;
    this.retryAfterMs = b.retryAfterMs;
    this.retryAfterSeconds = b.retryAfterSeconds;
    this.retryAfterDateSeconds = b.retryAfterDateSeconds;
    this.quota = b.quota;
    this.ttftMs = b.ttftMs;
    this.tokensPerSecond = b.tokensPerSecond;
    this.calls = b.calls;
    this.split = b.split;
    this.withText = b.withText;
    this.tokens = b.tokens;
    this.reasoningMs = b.reasoningMs;
    this.field = b.field;
    this.hidden = b.hidden;
    this.replyText = b.replyText;
    this.chunk = b.chunk;
    this.times = b.times;
    this.probability = b.probability;
  }

  // ---------------------------------------------------------------- factories

  /** An HTTP error with an OpenAI-style body; {@code code} must be 400..599 (e.g. 429, 500, 503, 529). */
  public static Fault status(int code) {
    requireRange("code", code, 400, 599);
    Builder b = new Builder(FaultKind.STATUS);
    b.statusCode = code;
    return b.build();
  }

  /** Close the connection before sending any response header. */
  public static Fault reset() {
    return new Builder(FaultKind.RESET).build();
  }

  /** Stream {@code after} content chunks, then close the connection. */
  public static Fault cut(int after) {
    return withAfter(FaultKind.CUT, after);
  }

  /** Stream {@code after} content chunks, then go silent with the connection open. */
  public static Fault stall(int after) {
    return withAfter(FaultKind.STALL, after);
  }

  /** Stream {@code after} content chunks, then a {@code data:} error event, then end the response and close. */
  public static Fault errorEvent(int after) {
    return errorEvent(after, ErrorEventForm.DATA);
  }

  /** Stream {@code after} content chunks, then an error event in the given form, then end the response and close. */
  public static Fault errorEvent(int after, ErrorEventForm form) {
    Builder b = builderWithAfter(FaultKind.ERROR_EVENT, after);
    b.form = Objects.requireNonNull(form, "form");
    return b.build();
  }

  /** A complete stream without the final {@code data: [DONE]}. */
  public static Fault noDone() {
    return new Builder(FaultKind.NO_DONE).build();
  }

  /** Insert one malformed {@code data: {not json} event after {@code after} content chunks. */
  public static Fault badJson(int after) {
    return withAfter(FaultKind.BAD_JSON, after);
  }

  /** After the role chunk write {@link #DEFAULT_GIANT_LINE_BYTES} bytes of {@code 'x'}, then close. */
  public static Fault giantLine() {
    return giantLine(DEFAULT_GIANT_LINE_BYTES);
  }

  /** After the role chunk write {@code bytes} bytes of {@code 'x'} without a newline, then close. */
  public static Fault giantLine(int bytes) {
    requireRange("bytes", bytes, 1, MAX_GIANT_LINE_BYTES);
    Builder b = new Builder(FaultKind.GIANT_LINE);
    b.bytes = bytes;
    return b.build();
  }

  /** A normal stream with an SSE comment {@code : keep-alive} after every {@code every} content chunks. */
  public static Fault keepalive(int every) {
    requireRange("every", every, 1, Integer.MAX_VALUE);
    Builder b = new Builder(FaultKind.KEEPALIVE);
    b.every = every;
    return b.build();
  }

  /** A normal stream framed with CRLF line ends. */
  public static Fault crlf() {
    return new Builder(FaultKind.CRLF).build();
  }

  /** Pacing override that changes nothing until {@link #ttftMs(long)} or {@link #tokensPerSecond(double)} is set. */
  public static Fault slow() {
    return new Builder(FaultKind.SLOW).build();
  }

  /** Pacing override: first content token after {@code ttftMs}, then {@code tokensPerSecond} (0 = no delay). */
  public static Fault slow(long ttftMs, double tokensPerSecond) {
    return slow().ttftMs(ttftMs).tokensPerSecond(tokensPerSecond);
  }

  /**
   * Answer with {@code n} parallel tool calls (1..{@value #MAX_TOOL_CALLS}), streamed like OpenAI: per call a
   * header delta (index, id, type, name, empty arguments), then its {@code arguments} in fragments of at most
   * {@link #split(int)} characters; finish reason {@code tool_calls}. Names are the request's
   * {@code tools[i].function.name} in order (cycling), else {@code tool_<i>}.
   */
  public static Fault toolCalls(int n) {
    requireRange("n", n, 1, MAX_TOOL_CALLS);
    Builder b = new Builder(FaultKind.TOOL_CALLS);
    b.calls = n;
    b.split = DEFAULT_SPLIT;
    return b.build();
  }

  /**
   * Answer with a legacy {@code function_call} (name from the request's {@code functions[0].name}, else
   * {@code tool_0}) whose arguments stream in fragments of {@link #split(int)}; finish reason
   * {@code function_call}.
   */
  public static Fault functionCall() {
    Builder b = new Builder(FaultKind.FUNCTION_CALL);
    b.split = DEFAULT_SPLIT;
    return b.build();
  }

  /**
   * Stream {@code tokens} reasoning deltas (1..{@value #MAX_REASONING_TOKENS}) before the answer, and report
   * them as {@code completion_tokens_details.reasoning_tokens}. Without {@link #reasoningMs(long)} they are
   * paced like content tokens.
   */
  public static Fault reasoning(int tokens) {
    requireRange("tokens", tokens, 1, MAX_REASONING_TOKENS);
    Builder b = new Builder(FaultKind.REASONING);
    b.tokens = tokens;
    b.field = ReasoningField.REASONING_CONTENT;
    return b.build();
  }

  /** Answer with a refusal: {@code delta.refusal} chunks, {@code content} null, finish reason {@code stop}. */
  public static Fault refusal() {
    return new Builder(FaultKind.REFUSAL).build();
  }

  /**
   * Answer exactly {@code text} (not empty), in content chunks of {@link #chunk(int)} characters (code
   * points); the directive carries it as {@code b64=} the base64 of its UTF-8 bytes.
   */
  public static Fault reply(String text) {
    Objects.requireNonNull(text, "text");
    if (text.isEmpty()) {
      throw new IllegalArgumentException("b64 must encode a non-empty text");
    }
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        throw new IllegalArgumentException("reply text has an unpaired surrogate at index " + i);
      }
    }
    Builder b = new Builder(FaultKind.REPLY);
    b.replyText = text;
    b.chunk = DEFAULT_REPLY_CHUNK;
    return b.build();
  }

  /** Report {@code tokens} (>= 0) cached prompt tokens, capped at the prompt's tokens. */
  public static Fault cached(int tokens) {
    requireRange("tokens", tokens, 0, Integer.MAX_VALUE);
    Builder b = new Builder(FaultKind.CACHED);
    b.tokens = tokens;
    return b.build();
  }

  // ---------------------------------------------------------------- withers

  /** {@code retry-after-ms} header on a status fault. */
  public Fault retryAfterMs(long millis) {
    requireKind(FaultKind.STATUS, "retry_after_ms");
    requireNonNegative("retry_after_ms", millis);
    Builder b = toBuilder();
    b.retryAfterMs = millis;
    return b.build();
  }

  /** {@code retry-after} header in delta-seconds on a status fault. */
  public Fault retryAfterSeconds(long seconds) {
    requireKind(FaultKind.STATUS, "retry_after");
    requireNonNegative("retry_after", seconds);
    Builder b = toBuilder();
    b.retryAfterSeconds = seconds;
    return b.build();
  }

  /** {@code retry-after} header as an HTTP date {@code secondsFromNow} in the future, on a status fault. */
  public Fault retryAfterDate(long secondsFromNow) {
    requireKind(FaultKind.STATUS, "retry_after_date");
    requireNonNegative("retry_after_date", secondsFromNow);
    Builder b = toBuilder();
    b.retryAfterDateSeconds = secondsFromNow;
    return b.build();
  }

  /** Marks a status fault as "quota exhausted": error type and code {@code insufficient_quota}. */
  public Fault quota() {
    requireKind(FaultKind.STATUS, "quota");
    Builder b = toBuilder();
    b.quota = true;
    return b.build();
  }

  /** Time to first content token of a {@code slow} fault, in milliseconds. */
  public Fault ttftMs(long millis) {
    requireKind(FaultKind.SLOW, "ttft_ms");
    requireNonNegative("ttft_ms", millis);
    Builder b = toBuilder();
    b.ttftMs = millis;
    return b.build();
  }

  /** Tokens per second of a {@code slow} fault; 0 writes all tokens at once. */
  public Fault tokensPerSecond(double tps) {
    requireKind(FaultKind.SLOW, "tps");
    if (!(tps >= 0) || Double.isInfinite(tps)) {
      throw new IllegalArgumentException("tps must be a finite number >= 0, was " + tps);
    }
    Builder b = toBuilder();
    b.tokensPerSecond = tps;
    return b.build();
  }

  /** Largest {@code arguments} fragment, in characters (code points), of a {@code tool_calls} or {@code function_call}. */
  public Fault split(int characters) {
    requireKind("split", FaultKind.TOOL_CALLS, FaultKind.FUNCTION_CALL);
    requireRange("split", characters, 1, Integer.MAX_VALUE);
    Builder b = toBuilder();
    b.split = characters;
    return b.build();
  }

  /** A {@code tool_calls} answer that streams a short content sentence before the calls ({@code text=true}). */
  public Fault withText() {
    requireKind("text", FaultKind.TOOL_CALLS);
    Builder b = toBuilder();
    b.withText = true;
    return b.build();
  }

  /** Total duration of a {@code reasoning} phase: its deltas are spread evenly over {@code millis}. */
  public Fault reasoningMs(long millis) {
    requireKind("ms", FaultKind.REASONING);
    requireNonNegative("ms", millis);
    Builder b = toBuilder();
    b.reasoningMs = millis;
    return b.build();
  }

  /** The delta field of streamed reasoning ({@code reasoning_content} by default). */
  public Fault field(ReasoningField reasoningField) {
    requireKind("field", FaultKind.REASONING);
    Builder b = toBuilder();
    b.field = Objects.requireNonNull(reasoningField, "field");
    return b.build();
  }

  /**
   * Reasoning that is counted and waited for ({@link #reasoningMs(long)}) but not streamed, as OpenAI's
   * reasoning models do ({@code hidden=true}).
   */
  public Fault hidden() {
    requireKind("hidden", FaultKind.REASONING);
    Builder b = toBuilder();
    b.hidden = true;
    return b.build();
  }

  /** Characters (code points) per content chunk of a {@code reply}. */
  public Fault chunk(int characters) {
    requireKind("chunk", FaultKind.REPLY);
    requireRange("chunk", characters, 1, Integer.MAX_VALUE);
    Builder b = toBuilder();
    b.chunk = characters;
    return b.build();
  }

  /**
   * Apply to the first {@code n} matching requests only, then behave normally. For a directive "matching"
   * means the same directive and identical concatenated message content; for a {@link FaultPlan} entry it
   * means any request the entry covers.
   */
  public Fault times(int n) {
    requireRange("times", n, 1, Integer.MAX_VALUE);
    Builder b = toBuilder();
    b.times = n;
    return b.build();
  }

  /** Apply to each eligible request with this probability, drawn from the plan's seeded random. */
  public Fault probability(double p) {
    if (!(p >= 0.0 && p <= 1.0)) {
      throw new IllegalArgumentException("probability must be between 0 and 1, was " + p);
    }
    Builder b = toBuilder();
    b.probability = p;
    return b.build();
  }

  // ---------------------------------------------------------------- accessors

  public FaultKind kind() {
    return kind;
  }

  /** HTTP status of a {@link FaultKind#STATUS} fault, 0 for other kinds. */
  public int statusCode() {
    return statusCode;
  }

  /** Content chunks before the fault of {@code cut}, {@code stall}, {@code error_event}, {@code bad_json}. */
  public int after() {
    return after;
  }

  /** Content chunks between keep-alive comments of a {@code keepalive} fault. */
  public int every() {
    return every;
  }

  /** Size of a {@code giant_line}. */
  public int bytes() {
    return bytes;
  }

  /** Framing of an {@code error_event}. */
  public ErrorEventForm form() {
    return form;
  }

  public OptionalLong retryAfterMs() {
    return optional(retryAfterMs);
  }

  public OptionalLong retryAfterSeconds() {
    return optional(retryAfterSeconds);
  }

  public OptionalLong retryAfterDateSeconds() {
    return optional(retryAfterDateSeconds);
  }

  public boolean isQuota() {
    return quota;
  }

  public OptionalLong ttftMs() {
    return optional(ttftMs);
  }

  public OptionalDouble tokensPerSecond() {
    return tokensPerSecond == null ? OptionalDouble.empty() : OptionalDouble.of(tokensPerSecond);
  }

  /** Parallel calls of a {@code tool_calls} answer, 0 for other kinds. */
  public int calls() {
    return calls;
  }

  /** Largest arguments fragment of {@code tool_calls} / {@code function_call}, 0 for other kinds. */
  public int split() {
    return split;
  }

  /** Whether a {@code tool_calls} answer streams a content sentence before the calls. */
  public boolean hasText() {
    return withText;
  }

  /** Reasoning tokens of {@code reasoning}, cached tokens of {@code cached}, 0 for other kinds. */
  public int tokens() {
    return tokens;
  }

  /** Duration of a {@code reasoning} phase; empty = paced like content tokens. */
  public OptionalLong reasoningMs() {
    return optional(reasoningMs);
  }

  /** Delta field of a {@code reasoning} answer, null for other kinds. */
  public ReasoningField reasoningField() {
    return field;
  }

  /** Whether {@code reasoning} is hidden (counted, not streamed). */
  public boolean isHidden() {
    return hidden;
  }

  /** The exact text of a {@code reply}, null for other kinds. */
  public String replyText() {
    return replyText;
  }

  /** Characters per content chunk of a {@code reply}, 0 for other kinds. */
  public int chunk() {
    return chunk;
  }

  /** How many matching requests the fault applies to; empty = all. */
  public OptionalInt times() {
    return times == null ? OptionalInt.empty() : OptionalInt.of(times);
  }

  public double probability() {
    return probability;
  }

  /**
   * The directive that selects this fault from a prompt, in canonical form, e.g.
   * {@code [[sim:status code=429 retry_after_ms=200 times=1]]}.
   *
   * <p>Grammar: {@code "[[sim:" NAME (WS+ KEY "=" VALUE)* WS* "]]"} where NAME is a
   * {@link FaultKind#directiveName()}, KEY is lower-case with underscores and VALUE has no white space and
   * no {@code ]}. Parameters per kind: status {@code code retry_after_ms retry_after retry_after_date quota};
   * cut, stall, bad_json {@code after}; error_event {@code after form=data|event}; giant_line
   * {@code bytes}; keepalive {@code every}; slow {@code ttft_ms tps}; tool_calls {@code n split text};
   * function_call {@code split}; reasoning {@code tokens ms field=reasoning_content|reasoning hidden};
   * refusal none; reply {@code b64 chunk}; cached {@code tokens}; every kind {@code times probability}.
   */
  public String toDirective() {
    return "[[sim:" + describe() + "]]";
  }

  private String describe() {
    StringBuilder sb = new StringBuilder(kind.directiveName());
    switch (kind) {
      case STATUS -> {
        param(sb, "code", statusCode);
        if (retryAfterMs != null) param(sb, "retry_after_ms", retryAfterMs);
        if (retryAfterSeconds != null) param(sb, "retry_after", retryAfterSeconds);
        if (retryAfterDateSeconds != null) param(sb, "retry_after_date", retryAfterDateSeconds);
        if (quota) param(sb, "quota", true);
      }
      case CUT, STALL, BAD_JSON -> param(sb, "after", after);
      case ERROR_EVENT -> {
        param(sb, "after", after);
        param(sb, "form", form.name().toLowerCase(Locale.ROOT));
      }
      case GIANT_LINE -> param(sb, "bytes", bytes);
      case KEEPALIVE -> param(sb, "every", every);
      case SLOW -> {
        if (ttftMs != null) param(sb, "ttft_ms", ttftMs);
        if (tokensPerSecond != null) param(sb, "tps", tokensPerSecond);
      }
      case TOOL_CALLS -> {
        param(sb, "n", calls);
        param(sb, "split", split);
        if (withText) param(sb, "text", true);
      }
      case FUNCTION_CALL -> param(sb, "split", split);
      case REASONING -> {
        param(sb, "tokens", tokens);
        if (reasoningMs != null) param(sb, "ms", reasoningMs);
        if (field != ReasoningField.REASONING_CONTENT) param(sb, "field", field.jsonName());
        if (hidden) param(sb, "hidden", true);
      }
      case REPLY -> {
        param(sb, "b64", Base64.getEncoder().encodeToString(replyText.getBytes(StandardCharsets.UTF_8)));
        param(sb, "chunk", chunk);
      }
      case CACHED -> param(sb, "tokens", tokens);
      case RESET, NO_DONE, CRLF, REFUSAL -> {
        // no parameters
      }
    }
    if (times != null) param(sb, "times", times);
    if (probability < 1.0) param(sb, "probability", probability);
    return sb.toString();
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) return true;
    if (!(o instanceof Fault f)) return false;
    return kind == f.kind && statusCode == f.statusCode && after == f.after && every == f.every
        && bytes == f.bytes && form == f.form && quota == f.quota
        && Double.compare(probability, f.probability) == 0
        && Objects.equals(retryAfterMs, f.retryAfterMs)
        && Objects.equals(retryAfterSeconds, f.retryAfterSeconds)
        && Objects.equals(retryAfterDateSeconds, f.retryAfterDateSeconds)
        && Objects.equals(ttftMs, f.ttftMs) && Objects.equals(tokensPerSecond, f.tokensPerSecond)
        && calls == f.calls && split == f.split && withText == f.withText && tokens == f.tokens
        && Objects.equals(reasoningMs, f.reasoningMs) && field == f.field && hidden == f.hidden
        && Objects.equals(replyText, f.replyText) && chunk == f.chunk
        && Objects.equals(times, f.times);
  }

  @Override
  public int hashCode() {
    return Objects.hash(kind, statusCode, after, every, bytes, form, quota, probability, retryAfterMs,
        retryAfterSeconds, retryAfterDateSeconds, ttftMs, tokensPerSecond, calls, split, withText, tokens,
        reasoningMs, field, hidden, replyText, chunk, times);
  }

  /** The directive body, e.g. {@code status code=503 times=1}. */
  @Override
  public String toString() {
    return describe();
  }

  // ---------------------------------------------------------------- helpers

  private static Fault withAfter(FaultKind kind, int after) {
    return builderWithAfter(kind, after).build();
  }

  private static Builder builderWithAfter(FaultKind kind, int after) {
    requireRange("after", after, 0, Integer.MAX_VALUE);
    Builder b = new Builder(kind);
    b.after = after;
    return b;
  }

  private void requireKind(FaultKind wanted, String parameter) {
    requireKind(parameter, wanted);
  }

  private void requireKind(String parameter, FaultKind... wanted) {
    for (FaultKind k : wanted) {
      if (kind == k) {
        return;
      }
    }
    StringBuilder names = new StringBuilder();
    for (int i = 0; i < wanted.length; i++) {
      names.append(i == 0 ? "" : i == wanted.length - 1 ? " and " : ", ").append(wanted[i].directiveName());
    }
    throw new IllegalStateException(
        parameter + " applies to " + names + " faults only, not " + kind.directiveName());
  }

  private static void requireRange(String name, int value, int min, int max) {
    if (value < min || value > max) {
      String range = max == Integer.MAX_VALUE ? ">= " + min : "between " + min + " and " + max;
      throw new IllegalArgumentException(name + " must be " + range + ", was " + value);
    }
  }

  private static void requireNonNegative(String name, long value) {
    if (value < 0) {
      throw new IllegalArgumentException(name + " must be >= 0, was " + value);
    }
  }

  private static OptionalLong optional(Long value) {
    return value == null ? OptionalLong.empty() : OptionalLong.of(value);
  }

  private static void param(StringBuilder sb, String key, Object value) {
    sb.append(' ').append(key).append('=').append(value);
  }

  private Builder toBuilder() {
    Builder b = new Builder(kind);
    b.statusCode = statusCode;
    b.after = after;
    b.every = every;
    b.bytes = bytes;
    b.form = form;
    b.retryAfterMs = retryAfterMs;
    b.retryAfterSeconds = retryAfterSeconds;
    b.retryAfterDateSeconds = retryAfterDateSeconds;
    b.quota = quota;
    b.ttftMs = ttftMs;
    b.tokensPerSecond = tokensPerSecond;
    b.calls = calls;
    b.split = split;
    b.withText = withText;
    b.tokens = tokens;
    b.reasoningMs = reasoningMs;
    b.field = field;
    b.hidden = hidden;
    b.replyText = replyText;
    b.chunk = chunk;
    b.times = times;
    b.probability = probability;
    return b;
  }

  /** Mutable, private: every public path goes through a validating factory or wither. */
  private static final class Builder {
    private final FaultKind kind;
    private int statusCode;
    private int after;
    private int every;
    private int bytes;
    private ErrorEventForm form;
    private Long retryAfterMs;
    private Long retryAfterSeconds;
    private Long retryAfterDateSeconds;
    private boolean quota;
    private Long ttftMs;
    private Double tokensPerSecond;
    private int calls;
    private int split;
    private boolean withText;
    private int tokens;
    private Long reasoningMs;
    private ReasoningField field;
    private boolean hidden;
    private String replyText;
    private int chunk;
    private Integer times;
    private double probability = 1.0;

    private Builder(FaultKind kind) {
      this.kind = kind;
    }

    private Fault build() {
      return new Fault(this);
    }
  }
}
