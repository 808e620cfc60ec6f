package io.promptfleet.simulator.internal;

import io.promptfleet.simulator.Fault;
import io.promptfleet.simulator.FaultKind;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The one place that turns prompt directives into {@link Fault}s (faults and answer shapes).
 *
 * <p>Grammar (see {@link Fault#toDirective()}): {@code "[[sim:" NAME (WS+ KEY "=" VALUE)* WS* "]]"}; a
 * message may hold several directives. Text outside directives is ignored; a malformed directive is a
 * client error (HTTP 400), so a typo never silently turns into a normal response. Text that cannot stand
 * in a VALUE (white space, {@code ]}) travels as base64 ({@code [[sim:reply b64=...]]}, decoded as
 * strict UTF-8; standard or URL-safe alphabet, padding optional).
 *
 * <p>Stateless and thread-safe.
 */
public final class Directives {

  /** Opens a directive. */
  public static final String OPEN = "[[sim:";
  /** Closes a directive. */
  public static final String CLOSE = "]]";

  private Directives() {}

  /** Every directive in {@code text}, in order of appearance. */
  public static List<Fault> parse(String text) throws InvalidRequestException {
    List<Fault> faults = new ArrayList<>(1);
    int from = 0;
    while (true) {
      int open = text.indexOf(OPEN, from);
      if (open < 0) {
        return faults;
      }
      int close = text.indexOf(CLOSE, open + OPEN.length());
      if (close < 0) {
        throw invalid(text.substring(open, Math.min(text.length(), open + 80)), "missing closing ']]'");
      }
      faults.add(parseOne(text.substring(open, close + CLOSE.length())));
      from = close + CLOSE.length();
    }
  }

  /** Parses a single directive such as {@code [[sim:cut after=3]]}. */
  public static Fault parseOne(String directive) throws InvalidRequestException {
    if (!directive.startsWith(OPEN) || !directive.endsWith(CLOSE)) {
      throw invalid(directive, "a directive looks like [[sim:NAME key=value ...]]");
    }
    String body = directive.substring(OPEN.length(), directive.length() - CLOSE.length()).strip();
    String[] words = body.isEmpty() ? new String[0] : body.split("\\s+");
    if (words.length == 0) {
      throw invalid(directive, "missing fault name");
    }
    FaultKind kind = FaultKind.fromDirectiveName(words[0]).orElseThrow(() -> invalid(directive,
        "unknown fault '" + words[0] + "' (known: " + Arrays.stream(FaultKind.values())
            .map(FaultKind::directiveName).collect(Collectors.joining(", ")) + ")"));
    Params params = new Params(directive);
    for (int i = 1; i < words.length; i++) {
      params.put(words[i]);
    }
    try {
      Fault fault = build(kind, params);
      if (params.has("times")) {
        fault = fault.times(params.intValue("times"));
      }
      if (params.has("probability")) {
        fault = fault.probability(params.doubleValue("probability"));
      }
      params.requireAllUsed(kind);
      return fault;
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw invalid(directive, e.getMessage());
    }
  }

  private static Fault build(FaultKind kind, Params p) throws InvalidRequestException {
    return switch (kind) {
      case STATUS -> {
        if (!p.has("code")) {
          throw p.error("status needs code=NNN");
        }
        Fault f = Fault.status(p.intValue("code"));
        if (p.has("retry_after_ms")) f = f.retryAfterMs(p.longValue("retry_after_ms"));
        if (p.has("retry_after")) f = f.retryAfterSeconds(p.longValue("retry_after"));
        if (p.has("retry_after_date")) f = f.retryAfterDate(p.longValue("retry_after_date"));
        if (p.has("quota") && p.booleanValue("quota")) f = f.quota();
        yield f;
      }
      case RESET -> Fault.reset();
      case CUT -> Fault.cut(p.intValue("after", Fault.DEFAULT_AFTER));
      case STALL -> Fault.stall(p.intValue("after", Fault.DEFAULT_AFTER));
      case ERROR_EVENT -> Fault.errorEvent(p.intValue("after", Fault.DEFAULT_AFTER), p.formValue("form"));
      case NO_DONE -> Fault.noDone();
      case BAD_JSON -> Fault.badJson(p.intValue("after", Fault.DEFAULT_AFTER));
      case GIANT_LINE -> Fault.giantLine(p.intValue("bytes", Fault.DEFAULT_GIANT_LINE_BYTES));
      case KEEPALIVE -> Fault.keepalive(p.intValue("every", 1));
      case CRLF -> Fault.crlf();
      case SLOW -> {
        Fault f = Fault.slow();
        if (p.has("ttft_ms")) f = f.ttftMs(p.longValue("ttft_ms"));
        if (p.has("tps")) f = f.tokensPerSecond(p.doubleValue("tps"));
        yield f;
      }
      case TOOL_CALLS -> {
        Fault f = Fault.toolCalls(p.intValue("n", 1)).split(p.intValue("split", Fault.DEFAULT_SPLIT));
        yield p.has("text") && p.booleanValue("text") ? f.withText() : f;
      }
      case FUNCTION_CALL -> Fault.functionCall().split(p.intValue("split", Fault.DEFAULT_SPLIT));
      case REASONING -> {
        Fault f = Fault.reasoning(p.intValue("tokens", Fault.DEFAULT_REASONING_TOKENS));
        if (p.has("ms")) f = f.reasoningMs(p.longValue("ms"));
        f = f.field(p.reasoningFieldValue("field"));
        yield p.has("hidden") && p.booleanValue("hidden") ? f.hidden() : f;
      }
      case REFUSAL -> Fault.refusal();
      case REPLY -> {
        if (!p.has("b64")) {
          throw p.error("reply needs b64=<base64 of the UTF-8 text>");
        }
        yield Fault.reply(p.base64Text("b64")).chunk(p.intValue("chunk", Fault.DEFAULT_REPLY_CHUNK));
      }
      case CACHED -> {
        if (!p.has("tokens")) {
          throw p.error("cached needs tokens=N");
        }
        yield Fault.cached(p.intValue("tokens"));
      }
    };
  }

  private static InvalidRequestException invalid(String directive, String reason) {
    return new InvalidRequestException("Invalid simulator directive '" + directive + "': " + reason, "messages");
  }

  /** The key=value pairs of one directive; tracks which were read so that unknown keys are reported. */
  private static final class Params {
    private final String directive;
    private final Map<String, String> values = new LinkedHashMap<>();
    private final Map<String, Boolean> used = new LinkedHashMap<>();

    Params(String directive) {
      this.directive = directive;
    }

    void put(String word) throws InvalidRequestException {
      int eq = word.indexOf('=');
      if (eq <= 0 || eq == word.length() - 1) {
        throw invalid(directive, "expected key=value, got '" + word + "'");
      }
      String key = word.substring(0, eq).toLowerCase(Locale.ROOT);
      if (values.put(key, word.substring(eq + 1)) != null) {
        throw invalid(directive, "parameter '" + key + "' given twice");
      }
    }

    boolean has(String key) {
      used.put(key, Boolean.TRUE);
      return values.containsKey(key);
    }

    int intValue(String key, int fallback) throws InvalidRequestException {
      return has(key) ? intValue(key) : fallback;
    }

    int intValue(String key) throws InvalidRequestException {
      long value = longValue(key);
      if (value > Integer.MAX_VALUE || value < Integer.MIN_VALUE) {
        throw invalid(directive, key + " is out of range: " + value);
      }
      return (int) value;
    }

    long longValue(String key) throws InvalidRequestException {
      String raw = get(key);
      try {
        return Long.parseLong(raw);
      } catch (NumberFormatException e) {
        throw invalid(directive, key + " must be an integer, was '" + raw + "'");
      }
    }

    double doubleValue(String key) throws InvalidRequestException {
      String raw = get(key);
      try {
        return Double.parseDouble(raw);
      } catch (NumberFormatException e) {
        throw invalid(directive, key + " must be a number, was '" + raw + "'");
      }
    }

    boolean booleanValue(String key) throws InvalidRequestException {
      String raw = get(key).toLowerCase(Locale.ROOT);
      return switch (raw) {
        case "true" -> true;
        case "false" -> false;
        default -> throw invalid(directive, key + " must be true or false, was '" + raw + "'");
      };
    }

    Fault.ErrorEventForm formValue(String key) throws InvalidRequestException {
      if (!has(key)) {
        return Fault.ErrorEventForm.DATA;
      }
      String raw = get(key).toLowerCase(Locale.ROOT);
      return switch (raw) {
        case "data" -> Fault.ErrorEventForm.DATA;
        case "event" -> Fault.ErrorEventForm.EVENT;
        default -> throw invalid(directive, key + " must be data or event, was '" + raw + "'");
      };
    }

    Fault.ReasoningField reasoningFieldValue(String key) throws InvalidRequestException {
      if (!has(key)) {
        return Fault.ReasoningField.REASONING_CONTENT;
      }
      String raw = get(key).toLowerCase(Locale.ROOT);
      for (Fault.ReasoningField field : Fault.ReasoningField.values()) {
        if (field.jsonName().equals(raw)) {
          return field;
        }
      }
      throw invalid(directive, key + " must be reasoning_content or reasoning, was '" + raw + "'");
    }

    /** A base64 value (standard or URL-safe alphabet, padding optional) decoded as strict UTF-8. */
    String base64Text(String key) throws InvalidRequestException {
      String raw = get(key);
      byte[] bytes;
      try {
        String padded = raw.replace('-', '+').replace('_', '/');
        bytes = Base64.getDecoder().decode(padded);
      } catch (IllegalArgumentException e) {
        throw invalid(directive, key + " is not valid base64: " + e.getMessage());
      }
      try {
        return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
      } catch (CharacterCodingException e) {
        throw invalid(directive, key + " does not encode UTF-8 text");
      }
    }

    void requireAllUsed(FaultKind kind) throws InvalidRequestException {
      for (String key : values.keySet()) {
        if (!used.containsKey(key)) {
          throw invalid(directive, "unknown parameter '" + key + "' for " + kind.directiveName());
        }
      }
    }

    InvalidRequestException error(String reason) {
      return invalid(directive, reason);
    }

    private String get(String key) {
      used.put(key, Boolean.TRUE);
      return values.get(key);
    }
  }
}
