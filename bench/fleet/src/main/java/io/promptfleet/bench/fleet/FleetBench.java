package io.promptfleet.bench.fleet;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code FleetBench faults|faults-smoke|scale|fastpath [--option value ...]}; see bench/fleet/README.md. Exit code 0 when
 * every phase was clean, 1 when a job was lost or duplicated or a key went over its limit, 2 on bad usage.
 */
public final class FleetBench {
  private FleetBench() {}

  public static void main(String[] args) throws Exception {
    // The bench's own clients retry through every broker fault; their warnings would bury the table.
    org.apache.logging.log4j.core.config.Configurator.setLevel("org.apache.kafka",
        org.apache.logging.log4j.Level.ERROR);
    int code;
    try {
      code = run(args);
    } catch (IllegalArgumentException e) {
      System.err.println("FleetBench: " + e.getMessage());
      System.err.println("usage: faults [--faults a,b] [--repeats N] [--rate JOBS_PER_S] [--duration S] [--pre S] "
          + "[--workers N] [--lock-ms MS] [--run-dir DIR]\n       faults-smoke [same options]\n"
          + "       scale [--workers 1,2,4,8] [--slots N] [--window S] [--join-leave true|false] [--lock-ms MS]\n"
          + "             [--run-dir DIR]\n"
          + "       fastpath [--key-concurrency 128] [--workers 2] [--slots 64] [--lanes 16] [--probes 100]\n"
          + "             [--warmup S] [--window S] [--idle S] [--worker key=value,...]\n"
          + "             [--successors auto|true|false|omit] [--run-dir DIR]\n"
          + "faults: " + String.join(",", FaultSuite.ALL));
      code = 2;
    }
    System.exit(code);
  }

  static int run(String[] args) throws Exception {
    if (args.length == 0) {
      throw new IllegalArgumentException("name a command");
    }
    Map<String, String> opts = options(Arrays.copyOfRange(args, 1, args.length));
    Path runDir = Path.of(opts.getOrDefault("run-dir", "bench/fleet/target/run-" + args[0] + "-"
        + System.currentTimeMillis() / 1000));
    return switch (args[0]) {
      case "faults", "faults-smoke" -> {
        boolean smoke = args[0].equals("faults-smoke");
        String faults = opts.getOrDefault("faults", smoke ? "broker-assignments-leader,worker-kill,dispatcher-kill"
            : String.join(",", FaultSuite.ALL));
        yield FaultSuite.run(new FaultSuite.Options(List.of(faults.split(",")),
            Integer.parseInt(opts.getOrDefault("repeats", smoke ? "1" : "2")),
            Double.parseDouble(opts.getOrDefault("rate", "15")),
            Duration.ofSeconds(Long.parseLong(opts.getOrDefault("pre", "12"))),
            Duration.ofSeconds(Long.parseLong(opts.getOrDefault("duration", smoke ? "15" : "30"))),
            Integer.parseInt(opts.getOrDefault("workers", "3")), lockMs(opts), successors(opts), runDir));
      }
      case "scale" -> ScaleOut.run(new ScaleOut.Options(
          Arrays.stream(opts.getOrDefault("workers", "1,2,4,8").split(",")).mapToInt(Integer::parseInt).toArray(),
          Integer.parseInt(opts.getOrDefault("slots", "16")),
          Duration.ofSeconds(Long.parseLong(opts.getOrDefault("window", "30"))),
          Boolean.parseBoolean(opts.getOrDefault("join-leave", "true")), lockMs(opts), runDir));
      case "fastpath" -> FastPath.run(new FastPath.Options(
          Integer.parseInt(opts.getOrDefault("key-concurrency", "128")),
          Integer.parseInt(opts.getOrDefault("workers", "2")),
          Integer.parseInt(opts.getOrDefault("slots", "64")),
          Integer.parseInt(opts.getOrDefault("lanes", "16")),
          Integer.parseInt(opts.getOrDefault("probes", "100")),
          Duration.ofSeconds(Long.parseLong(opts.getOrDefault("warmup", "40"))),
          Duration.ofSeconds(Long.parseLong(opts.getOrDefault("window", "20"))),
          Duration.ofSeconds(Long.parseLong(opts.getOrDefault("idle", "15"))),
          worker(opts), successors(opts), runDir));
      default -> throw new IllegalArgumentException("no command " + args[0]);
    };
  }

  /** {@code --worker k=v,k=v}: more keys of the YAML's worker section. */
  private static Map<String, String> worker(Map<String, String> opts) {
    Map<String, String> m = new java.util.LinkedHashMap<>();
    String w = opts.get("worker");
    if (w != null && !w.isBlank()) {
      for (String kv : w.split(",")) {
        String[] p = kv.split("=", 2);
        if (p.length != 2) {
          throw new IllegalArgumentException("--worker wants key=value pairs, got " + kv);
        }
        m.put(p[0].trim(), p[1].trim());
      }
    }
    return m;
  }

  /**
   * {@code --successors auto|true|false|omit}: the dispatcher's {@code dispatcher.successors}; default {@code auto},
   * the fleet's own default (on once every worker announced the protocol, after the dispatcher's listening period);
   * {@code omit} leaves the key out (the build's own default; for a build from before it existed, run with
   * {@code FLEET_CP}).
   */
  private static String successors(Map<String, String> opts) {
    String v = opts.getOrDefault("successors", "auto");
    if (!v.equals("auto") && !v.equals("true") && !v.equals("false") && !v.equals("omit")) {
      throw new IllegalArgumentException("--successors wants auto, true, false or omit, got " + v);
    }
    return v;
  }

  private static long lockMs(Map<String, String> opts) {
    return Long.parseLong(opts.getOrDefault("lock-ms", Long.toString(FleetHarness.DEFAULT_RECORD_LOCK_MS)));
  }

  static Map<String, String> options(String[] args) {
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("expected --option value at " + args[i]);
      }
      m.put(args[i].substring(2), args[++i]);
    }
    return m;
  }
}
