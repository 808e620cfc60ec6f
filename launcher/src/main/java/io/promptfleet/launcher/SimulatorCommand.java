package io.promptfleet.launcher;

import io.promptfleet.simulator.SimulatorMain;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

/** {@code promptfleet simulator [--host H] [--port N] [--chunks N] [--ttft-ms N] [--tps X]}. */
@Command(name = "simulator",
    description = "Run the simulated OpenAI-compatible provider alone: [--host H] [--port N] [--chunks N] "
        + "[--ttft-ms N] [--tps X] (environment HOST, PORT, CHUNKS, TTFT_MS, TPS also work).")
final class SimulatorCommand implements Runnable {
  @Unmatched
  List<String> args = new ArrayList<>();

  @Override
  public void run() {
    SimulatorMain.main(args.toArray(String[]::new));
  }
}
