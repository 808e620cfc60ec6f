package io.promptfleet.simulator.internal;

import io.promptfleet.simulator.Fault;
import io.promptfleet.simulator.FaultKind;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * Builds the {@link Answer} of one request: the sequence of chunks for each answer shape (lorem-ipsum
 * text, exact reply, refusal, tool calls, legacy function call), preceded by reasoning when asked, cut by
 * the request's token limit, with its usage.
 *
 * <p>The simulator's token model: every answer chunk is one completion token (a lorem word, a reply chunk,
 * a refusal word, a reasoning word, a tool-call header or arguments fragment); the role chunk is none. The
 * limit ({@code max_completion_tokens}, else {@code max_tokens}) counts hidden reasoning tokens first, then
 * chunks in order; an answer cut by it ends with finish reason {@code length}, as on OpenAI.
 *
 * <p>Reasoning models ({@link io.promptfleet.simulator.SimulatorOptions#isReasoningModel}) think
 * {@value #HIDDEN_REASONING_TOKENS} hidden tokens unless a {@code reasoning} directive says otherwise.
 *
 * <p>Stateless and thread-safe; runs once per request on its event loop.
 */
final class AnswerBuilder {

  /** Hidden reasoning tokens a reasoning model reports when no {@code reasoning} directive sets them. */
  static final int HIDDEN_REASONING_TOKENS = 16;
  /** The text of a {@code refusal}. */
  static final String REFUSAL_TEXT = "I'm sorry, but I can't help with that.";
  /** The content sentence of {@code tool_calls text=true}, streamed before the calls. */
  static final String TOOL_CALL_PREAMBLE = "Let me look that up for you.";
  /** The words reasoning deltas cycle through. */
  static final String REASONING_TEXT = "Okay, let me think about this step by step. The user asks a question;"
      + " first I check what is known, then I weigh the options, and finally I write a short answer.";

  private static final String[] CITIES = {
      "Zürich \"HQ\"", "São Paulo", "Kraków 'Stare Miasto'", "東京 / 大阪", "Reykjavík <IS>"};

  private AnswerBuilder() {}

  /**
   * @param request        the parsed request (prompt, limit, tool and function names)
   * @param plan           the plan, whose answer shape, reasoning and cached directives apply
   * @param naturalLength  lorem-ipsum tokens the "model" wants to write
   * @param reasoningModel whether the model follows OpenAI's reasoning-model rules (hidden reasoning)
   * @param idBase         unique per request; tool-call ids are {@code call_<idBase><index>}
   */
  static Answer build(ChatRequest request, ResponsePlan plan, int naturalLength, boolean reasoningModel,
      String idBase) {
    Fault shape = plan.shape();
    Fault reasoning = plan.reasoning();
    int promptTokens = request.promptTokens();
    int cached = plan.cached() == null ? 0 : Math.min(plan.cached().tokens(), promptTokens);
    int hidden = reasoning == null
        ? (reasoningModel ? HIDDEN_REASONING_TOKENS : 0)
        : (reasoning.isHidden() ? reasoning.tokens() : 0);
    OptionalInt limit = request.maxTokens();
    int hiddenUsed = limit.isPresent() ? Math.min(hidden, limit.getAsInt()) : hidden;
    String field = reasoning == null ? Fault.ReasoningField.REASONING_CONTENT.jsonName()
        : reasoning.reasoningField().jsonName();

    if (shape == null && (reasoning == null || reasoning.isHidden())) {
      // The plain lorem-ipsum answer: just its tokens, no per-step kinds (the benchmark path).
      OptionalInt rest = limit.isPresent() ? OptionalInt.of(limit.getAsInt() - hiddenUsed) : limit;
      Completion completion = Completion.of(request.allText(), naturalLength, rest, promptTokens);
      boolean cut = hiddenUsed < hidden || "length".equals(completion.finishReason());
      return new Answer(Answer.Shape.TEXT, Answer.Opening.TEXT, completion.tokens(), null, null, List.of(),
          field, cut ? "length" : "stop",
          new Usage(promptTokens, hiddenUsed + completion.completionTokens(), cached, hiddenUsed));
    }

    Steps steps = new Steps();
    if (reasoning != null && !reasoning.isHidden()) {
      words(REASONING_TEXT, reasoning.tokens(), steps, Answer.Step.REASONING);
    }
    Answer.Shape kind = Answer.Shape.TEXT;
    Answer.Opening opening = Answer.Opening.TEXT;
    List<Answer.Call> calls = List.of();
    if (shape == null) {
      Completion lorem = Completion.of(request.allText(), naturalLength, OptionalInt.empty(), promptTokens);
      for (String token : lorem.tokens()) {
        steps.add(Answer.Step.CONTENT, token, 0);
      }
    } else {
      switch (shape.kind()) {
        case REPLY -> {
          for (String piece : split(shape.replyText(), shape.chunk())) {
            steps.add(Answer.Step.CONTENT, piece, 0);
          }
        }
        case REFUSAL -> {
          kind = Answer.Shape.REFUSAL;
          opening = Answer.Opening.REFUSAL;
          words(REFUSAL_TEXT, -1, steps, Answer.Step.REFUSAL);
        }
        case TOOL_CALLS, FUNCTION_CALL -> {
          boolean legacy = shape.kind() == FaultKind.FUNCTION_CALL;
          kind = legacy ? Answer.Shape.FUNCTION_CALL : Answer.Shape.TOOL_CALLS;
          if (shape.hasText()) {
            words(TOOL_CALL_PREAMBLE, -1, steps, Answer.Step.CONTENT);
          }
          calls = legacy
              ? List.of(new Answer.Call(null, name(request.functionNames(), 0), arguments(0)))
              : toolCalls(request.toolNames(), shape.calls(), idBase);
          opening = steps.size() == 0 ? Answer.Opening.CALL : Answer.Opening.TEXT;
          for (int c = 0; c < calls.size(); c++) {
            if (c > 0 || opening != Answer.Opening.CALL) {
              steps.add(Answer.Step.CALL, "", c);
            }
            for (String fragment : split(calls.get(c).arguments(), shape.split())) {
              steps.add(Answer.Step.ARGUMENTS, fragment, c);
            }
          }
        }
        default -> throw new IllegalStateException("not an answer shape: " + shape.kind());
      }
    }

    int kept = limit.isPresent() ? Math.min(steps.size(), limit.getAsInt() - hiddenUsed) : steps.size();
    boolean cut = hiddenUsed < hidden || kept < steps.size();
    steps.truncate(kept);
    int visibleReasoning = steps.count(Answer.Step.REASONING);
    return new Answer(kind, opening, steps.texts, steps.kinds(), calls.isEmpty() ? null : steps.calls(), calls,
        field, cut ? "length" : kind.finishReason,
        new Usage(promptTokens, hiddenUsed + steps.size(), cached, hiddenUsed + visibleReasoning));
  }

  /**
   * The deterministic arguments of call {@code index}: a JSON object with characters that need escapes
   * (quotes, backslashes, a newline, a tab), non-ASCII text, a character outside the BMP and every JSON
   * value type, e.g. {@code {"call":0,"city":"Zürich \"HQ\"","path":"a\\b\\0","note":"line 1\nline\t2 🚀",
   * "n":[0,2.5,true,null]}}.
   */
  static String arguments(int index) {
    StringBuilder sb = new StringBuilder(96).append("{\"call\":").append(index).append(",\"city\":");
    Json.appendString(sb, CITIES[index % CITIES.length]).append(",\"path\":");
    Json.appendString(sb, "a\\b\\" + index).append(",\"note\":");
    Json.appendString(sb, "line 1\nline\t2 \uD83D\uDE80");
    return sb.append(",\"n\":[").append(index).append(",2.5,true,null]}").toString();
  }

  /** {@code text} in pieces of at most {@code max} code points (a surrogate pair is never split). */
  static List<String> split(String text, int max) {
    List<String> pieces = new ArrayList<>(text.length() / Math.max(1, max) + 1);
    int start = 0;
    while (start < text.length()) {
      int end = start;
      for (int n = 0; n < max && end < text.length(); n++) {
        end += Character.charCount(text.codePointAt(end));
      }
      pieces.add(text.substring(start, end));
      start = end;
    }
    return pieces;
  }

  private static List<Answer.Call> toolCalls(List<String> names, int n, String idBase) {
    List<Answer.Call> calls = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      calls.add(new Answer.Call(String.format("call_%s%02x", idBase, i), name(names, i), arguments(i)));
    }
    return calls;
  }

  private static String name(List<String> names, int i) {
    return names.isEmpty() ? "tool_" + i : names.get(i % names.size());
  }

  /**
   * Adds the words of {@code text} as steps, the first without and the others with a leading space;
   * {@code count} steps cycling through the words, or each word once when {@code count < 0}.
   */
  private static void words(String text, int count, Steps steps, Answer.Step kind) {
    String[] words = text.split(" ");
    int n = count < 0 ? words.length : count;
    for (int i = 0; i < n; i++) {
      String word = words[i % words.length];
      steps.add(kind, i == 0 ? word : " " + word, 0);
    }
  }

  /** The steps under construction. */
  private static final class Steps {
    final List<String> texts = new ArrayList<>();
    final List<Answer.Step> kinds = new ArrayList<>();
    final List<Integer> calls = new ArrayList<>();

    void add(Answer.Step kind, String text, int call) {
      kinds.add(kind);
      texts.add(text);
      calls.add(call);
    }

    int size() {
      return texts.size();
    }

    void truncate(int size) {
      texts.subList(size, texts.size()).clear();
      kinds.subList(size, kinds.size()).clear();
      calls.subList(size, calls.size()).clear();
    }

    int count(Answer.Step kind) {
      int n = 0;
      for (Answer.Step k : kinds) {
        n += k == kind ? 1 : 0;
      }
      return n;
    }

    Answer.Step[] kinds() {
      return kinds.toArray(new Answer.Step[0]);
    }

    int[] calls() {
      return calls.stream().mapToInt(Integer::intValue).toArray();
    }
  }
}
