package io.promptfleet.launcher.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.promptfleet.simulator.SimulatorOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dispatcher's dashboard in a real headless Chromium while jobs run: the page renders keys, routes, workers
 * and their provider connections, and its numbers move. Needs /usr/bin/chromium (.ci/run installs it); skipped
 * elsewhere when absent.
 */
class DashboardIT {
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");

  @Test
  void shouldShowTheFleetAndNumbersThatMoveWhileJobsRun(@TempDir Path profile) throws Exception {
    if (System.getenv("CI") == null) {
      assumeTrue(Files.isExecutable(CHROMIUM), "chromium is not installed");
    }
    // slow streams (20 tokens/s) so work is in flight while the page is looked at
    try (TestFleet fleet = TestFleet.start(2, SimulatorOptions.defaults().withFirstTokenDelayMs(20)
        .withTokensPerSecond(20), Map.of())) {
      String url = "http://127.0.0.1:" + fleet.dispatcher.httpPort() + "/";
      for (int i = 0; i < 60; i++) {
        String id = fleet.prefix + "-d" + i;
        fleet.produceAsync(fleet.config.topics().jobsNormal(), id, fleet.job(id, "dash " + i, 10));
      }
      fleet.flush();
      String first = dumpDom(url, profile.resolve("a"));
      long assignments1 = number(first, "assignments-total");
      Thread.sleep(2_500);
      for (int i = 60; i < 120; i++) {
        String id = fleet.prefix + "-d" + i;
        fleet.produceAsync(fleet.config.topics().jobsNormal(), id, fleet.job(id, "dash " + i, 10));
      }
      fleet.flush();
      Thread.sleep(2_500);
      String second = dumpDom(url, profile.resolve("b"));
      long assignments2 = number(second, "assignments-total");

      assertThat(second).contains("k1").contains("sim/sim").contains("CLOSED");
      assertThat(second).contains(fleet.prefix + "-w0").contains(fleet.prefix + "-w1");
      assertThat(second).contains("<span id=\"error\"></span>"); // the page reached /api/status
      assertThat(assignments2).as("assignments shown by the page").isGreaterThan(assignments1);
      assertThat(number(second, "tokens-total")).isPositive();
      assertThat(second).contains("Provider connections");
      // Connections come with the workers' heartbeats (every 5 s): the first may not have been read yet
      String latest = second;
      for (int i = 0; i < 5 && number(latest, "connections-sim-opened") <= 0; i++) {
        Thread.sleep(2_000);
        latest = dumpDom(url, profile.resolve("c" + i));
      }
      assertThat(number(latest, "connections-sim-opened")).as("connections the workers opened to the simulator, "
          + "from their heartbeats").isPositive();
    }
  }

  /** Loads the page in headless Chromium, lets its script run, and returns the rendered DOM. */
  private static String dumpDom(String url, Path profile) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--user-data-dir=" + profile,
        "--virtual-time-budget=3000", "--dump-dom", url));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("chromium did not finish");
    }
    return new String(out, StandardCharsets.UTF_8);
  }

  private static long number(String dom, String id) {
    Matcher m = Pattern.compile("id=\"" + id + "\">([0-9,]+)<").matcher(dom);
    assertThat(m.find()).as("element #%s with a number in:%n%s", id, dom).isTrue();
    return Long.parseLong(m.group(1).replace(",", ""));
  }
}
