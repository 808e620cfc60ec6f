package io.promptfleet.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.promptfleet.client.ChunkListener;
import io.promptfleet.client.JobRequest;
import io.promptfleet.client.PromptFleetClient;
import io.promptfleet.common.job.ToolCallAssembler;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.FunctionCall;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Priority;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.job.ToolCall;
import io.promptfleet.common.job.ToolCallDelta;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code promptfleet submit "prompt"}: produces one job and streams its answer to the terminal: the text as it
 * arrives (unchanged from a plain stream of deltas), reasoning dimmed or prefixed when shown, each tool call once it
 * is complete, a refusal marked as one. The result's summary goes to stderr.
 */
@Command(name = "submit", mixinStandardHelpOptions = true,
    description = "Submit one prompt and stream the answer as it arrives.")
final class SubmitCommand implements Callable<Integer> {
  @Parameters(index = "0", description = "the prompt")
  String prompt;

  @Option(names = {"-b", "--bootstrap"}, defaultValue = "127.0.0.1:9092", description = "Kafka (default ${DEFAULT-VALUE})")
  String bootstrap;

  @Option(names = "--model", defaultValue = "sim", description = "model (default ${DEFAULT-VALUE})")
  String model;

  @Option(names = "--priority", defaultValue = "normal", description = "high, normal or low (default normal)")
  String priority;

  @Option(names = "--max-tokens", description = "completion budget (max_tokens)")
  Integer maxTokens;

  @Option(names = "--max-completion-tokens",
      description = "completion budget, reasoning included (max_completion_tokens)")
  Integer maxCompletionTokens;

  @Option(names = "--reasoning-effort",
      description = "reasoning_effort of reasoning models: minimal, low, medium, high")
  String reasoningEffort;

  @Option(names = {"-p", "--param"}, paramLabel = "NAME=VALUE",
      description = "any request field, repeatable: VALUE is JSON (else a string), or @FILE holding JSON, e.g."
          + " --param temperature=0.2 --param tools=@tools.json --param tool_choice=required")
  List<String> params = new ArrayList<>();

  @Option(names = "--reasoning", defaultValue = "auto",
      description = "show the model's reasoning: auto (on a terminal), show, hide (default ${DEFAULT-VALUE})")
  String reasoning;

  @Option(names = "--reply-to", defaultValue = "llm.replies", description = "reply topic (default ${DEFAULT-VALUE})")
  String replyTo;

  @Option(names = "--jobs-prefix", defaultValue = "llm.jobs.",
      description = "job topics are PREFIX + high|normal|low (default ${DEFAULT-VALUE})")
  String jobsPrefix;

  @Option(names = "--job-id", description = "job id (default: a random one)")
  String jobId;

  @Option(names = "--timeout", defaultValue = "120s",
      description = "give up after, and cancel the job (default ${DEFAULT-VALUE})")
  String timeout;

  @Override
  public Integer call() throws Exception {
    Main.quietKafkaClientLogs();
    Priority prio = switch (priority) {
      case "high" -> Priority.HIGH;
      case "normal" -> Priority.NORMAL;
      case "low" -> Priority.LOW;
      default -> throw new IllegalArgumentException("--priority must be high, normal or low");
    };
    boolean terminal = System.console() != null;
    boolean ansi = terminal && System.getenv("NO_COLOR") == null && !"dumb".equals(System.getenv("TERM"));
    boolean showReasoning = switch (reasoning) {
      case "auto" -> terminal;
      case "show" -> true;
      case "hide" -> false;
      default -> throw new IllegalArgumentException("--reasoning must be auto, show or hide");
    };
    String id = jobId != null ? jobId : "cli-" + UUID.randomUUID();
    JobRequest job = request(id, prio);
    long timeoutMs = Durations.parse(timeout).toMillis();
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    Renderer renderer = new Renderer(out, ansi, showReasoning);
    try (PromptFleetClient client = PromptFleetClient.builder(bootstrap).replyTopic(replyTo)
        .jobTopicPrefix(jobsPrefix).build()) {
      CompletableFuture<Result> answer = client.submit(job, renderer);
      Thread onCtrlC = new Thread(() -> {
        if (!answer.isDone()) {
          try {
            client.cancel(id).get(3, TimeUnit.SECONDS);
            System.err.println("\ncancelled " + id);
          } catch (Exception e) {
            System.err.println("\ncould not cancel " + id + ": " + e);
          }
        }
      }, "pf-submit-cancel");
      Runtime.getRuntime().addShutdownHook(onCtrlC);
      try {
        Result res = answer.get(timeoutMs, TimeUnit.MILLISECONDS);
        renderer.finish(res);
        for (String note : renderer.notes()) {
          System.err.println(note);
        }
        System.err.println(res.status().wireName() + ": " + summary(res));
        return res.status() == JobStatus.SUCCEEDED ? 0 : 1;
      } catch (TimeoutException e) {
        renderer.endLine();
        String cancelled;
        try {
          client.cancel(id).get(5, TimeUnit.SECONDS);
          cancelled = "; cancelled it";
        } catch (ExecutionException | TimeoutException ce) {
          cancelled = "; could not cancel it: " + ce;
        }
        System.err.println("no result for " + id + " within " + timeout + cancelled);
        return 3;
      } finally {
        try {
          Runtime.getRuntime().removeShutdownHook(onCtrlC);
        } catch (IllegalStateException e) {
          // shutting down: the hook runs
        }
      }
    }
  }

  JobRequest request(String id, Priority prio) throws IOException {
    JobRequest.Builder b = JobRequest.prompt(prompt).jobId(id).model(model).priority(prio);
    if (maxTokens != null) {
      b.maxTokens(maxTokens);
    }
    if (maxCompletionTokens != null) {
      b.maxCompletionTokens(maxCompletionTokens);
    }
    if (reasoningEffort != null) {
      b.reasoningEffort(reasoningEffort);
    }
    for (String p : params) {
      int eq = p.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("--param " + p + ": expected NAME=VALUE");
      }
      b.param(p.substring(0, eq), paramValue(p.substring(eq + 1)));
    }
    return b.build();
  }

  /** JSON when it parses as JSON, the JSON in a file for {@code @FILE}, else the text as a string. */
  static JsonNode paramValue(String v) throws IOException {
    if (v.startsWith("@")) {
      return Json.mapper().readTree(Files.readString(Path.of(v.substring(1)), StandardCharsets.UTF_8));
    }
    try {
      JsonNode n = Json.mapper().readTree(v);
      return n == null || n.isMissingNode() ? TextNode.valueOf(v) : n;
    } catch (IOException e) {
      return TextNode.valueOf(v);
    }
  }

  /** The result without what was already printed (content, message) or too long to read (logprobs). */
  static String summary(Result res) {
    ObjectNode summary = Json.mapper().valueToTree(res);
    summary.remove(List.of("content", "message", "logprobs"));
    return summary.toString();
  }

  /**
   * Prints a job's chunks: text as it arrives, reasoning (when shown) dimmed on a terminal or prefixed with
   * {@code [reasoning]} otherwise, a refusal after {@code [refusal]}, each tool call once complete as
   * {@code [tool call] name {arguments} (id)}. Other kinds go on a line of their own, so a plain answer prints
   * exactly its text. Called on the client's reply thread, then {@link #finish} on the caller's.
   */
  static final class Renderer implements ChunkListener {
    private static final String DIM = "\u001b[2m";
    private static final String RED = "\u001b[1;31m";
    private static final String CYAN = "\u001b[36m";
    private static final String RESET = "\u001b[0m";

    private enum Section { NONE, CONTENT, REASONING, REFUSAL }

    private final PrintStream out;
    private final boolean ansi;
    private final boolean showReasoning;
    private final ToolCallAssembler toolCalls = new ToolCallAssembler();
    private final Set<String> extraFields = new TreeSet<>();
    private Section section = Section.NONE;
    private boolean atLineStart = true;
    private boolean printedToolCall;
    private boolean printedAnything;
    private long hiddenReasoningChars;
    private String functionName;
    private StringBuilder functionArguments;

    Renderer(PrintStream out, boolean ansi, boolean showReasoning) {
      this.out = out;
      this.ansi = ansi;
      this.showReasoning = showReasoning;
    }

    @Override
    public void onChunk(Chunk chunk) {}

    @Override
    public synchronized void onContent(String text) {
      enter(Section.CONTENT);
      print(text);
    }

    @Override
    public synchronized void onReasoning(String text) {
      if (!showReasoning) {
        hiddenReasoningChars += text.length();
        return;
      }
      if (section != Section.REASONING) {
        enter(Section.REASONING);
        print(ansi ? DIM : "[reasoning] ");
      }
      print(text);
    }

    @Override
    public synchronized void onRefusal(String text) {
      if (section != Section.REFUSAL) {
        enter(Section.REFUSAL);
        print(ansi ? RED + "[refusal]" + RESET + " " : "[refusal] ");
      }
      print(text);
    }

    @Override
    public synchronized void onToolCallDelta(ToolCallDelta fragment) {
      enter(Section.NONE);
      toolCalls.add(fragment).forEach(this::printToolCall);
    }

    @Override
    public synchronized void onFunctionCallDelta(FunctionCall fragment) {
      enter(Section.NONE);
      if (functionArguments == null) {
        functionArguments = new StringBuilder();
      }
      if (fragment.name() != null) {
        functionName = functionName == null ? fragment.name() : functionName + fragment.name();
      }
      if (fragment.arguments() != null) {
        functionArguments.append(fragment.arguments());
      }
    }

    @Override
    public synchronized void onExtra(JsonNode extra) {
      extra.fieldNames().forEachRemaining(extraFields::add);
    }

    @Override
    public synchronized void onFinish(String finishReason) {
      flushCalls();
    }

    @Override
    public synchronized void onRestart(int attempt) {
      enter(Section.NONE);
      endLine();
      out.println("[attempt " + attempt + "]");
      toolCalls.reset();
      functionName = null;
      functionArguments = null;
      printedToolCall = false;
    }

    /**
     * The result arrived: prints what is still pending and ends the line. A plain answer (text only, or nothing)
     * ends with one newline, as a plain stream of deltas always did.
     */
    synchronized void finish(Result result) {
      flushCalls();
      if (!printedToolCall && result.message() != null && result.message().toolCalls() != null) {
        result.message().toolCalls().forEach(this::printToolCall);
      }
      if (section == Section.CONTENT || !printedAnything) {
        out.println();
        atLineStart = true;
        section = Section.NONE;
      } else {
        enter(Section.NONE);
        endLine();
      }
    }

    /** Lines for stderr about what the answer held but was not printed. */
    synchronized List<String> notes() {
      List<String> notes = new ArrayList<>();
      if (hiddenReasoningChars > 0) {
        notes.add("(" + hiddenReasoningChars + " characters of reasoning not shown; --reasoning show prints them)");
      }
      if (!extraFields.isEmpty()) {
        notes.add("(the answer also carries " + String.join(", ", extraFields) + ": see the result's message)");
      }
      return notes;
    }

    /** Ends the current line, if any. */
    synchronized void endLine() {
      if (!atLineStart) {
        out.println();
        atLineStart = true;
      }
    }

    private void flushCalls() {
      toolCalls.finish().forEach(this::printToolCall);
      if (functionArguments != null) {
        enter(Section.NONE);
        endLine();
        out.println(label("[function call]") + " " + functionName + " " + functionArguments);
        printedAnything = true;
        functionName = null;
        functionArguments = null;
      }
    }

    private void printToolCall(ToolCall call) {
      enter(Section.NONE);
      endLine();
      FunctionCall f = call.function();
      out.println(label("[tool call]") + " " + (f == null ? null : f.name()) + " "
          + (f == null || f.arguments() == null || f.arguments().isEmpty() ? "{}" : f.arguments())
          + (call.id() == null ? "" : " (" + call.id() + ")"));
      printedToolCall = true;
      printedAnything = true;
    }

    private String label(String text) {
      return ansi ? CYAN + text + RESET : text;
    }

    /** Leaves the current section (ending its style and its line, except between pieces of text) for another. */
    private void enter(Section next) {
      if (section == next) {
        return;
      }
      if (section == Section.REASONING && ansi) {
        print(RESET);
      }
      if (section != Section.NONE || next != Section.CONTENT) {
        endLine();
      }
      section = next;
    }

    private void print(String s) {
      if (s.isEmpty()) {
        return;
      }
      out.print(s);
      String visible = s.replaceAll("\u001b\\[[0-9;]*m", "");
      if (!visible.isEmpty()) {
        atLineStart = visible.endsWith("\n");
        printedAnything = true;
      }
    }
  }
}
