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
          cmd.getErr().println("promptfleet: " + e.getMessage());
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
}
