package io.promptfleet.launcher;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code promptfleet <command>}: the entry point of the launcher jar. */
@Command(name = "promptfleet", mixinStandardHelpOptions = true, version = "promptfleet 0.1.0",
    description = "Apache Kafka as a managed LLM completion service.",
    subcommands = {DevCommand.class, DispatcherCommand.class, WorkerCommand.class, SubmitCommand.class,
        BatchCommand.class, TailCommand.class, StatusCommand.class, SimulatorCommand.class,
        CommandLine.HelpCommand.class})
public final class Main {
  public static void main(String[] args) {
    int code = new CommandLine(new Main())
        .setExecutionExceptionHandler((e, cmd, parsed) -> {
          cmd.getErr().println("promptfleet: " + explain(e));
          if (Boolean.getBoolean("promptfleet.debug")) {
            e.printStackTrace(cmd.getErr());
          }
          return 2;
        })
        .execute(args);
    if (code != 0) {
      System.exit(code);
    }
  }

  /** A user-facing sentence for what went wrong, with the likely fix. */
  static String explain(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    if (root instanceof org.apache.kafka.common.errors.TimeoutException) {
      return "cannot reach Kafka (" + root.getMessage() + "). Is the fleet running (./promptfleet dev)? "
          + "Point to another broker with --bootstrap HOST:PORT.";
    }
    if (root instanceof java.net.ConnectException) {
      return e.getMessage() != null && !e.getMessage().endsWith("null") ? e.getMessage() : "connection refused";
    }
    return e.getMessage() != null ? e.getMessage() : e.toString();
  }

  /** Client commands talk to a broker that may be down: show one clear error, not the client's retry warnings. */
  static void quietKafkaClientLogs() {
    org.apache.logging.log4j.core.config.Configurator.setLevel("org.apache.kafka",
        org.apache.logging.log4j.Level.ERROR);
  }
}
