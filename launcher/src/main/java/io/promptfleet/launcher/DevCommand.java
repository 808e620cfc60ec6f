package io.promptfleet.launcher;

import io.promptfleet.client.JobRequest;
import io.promptfleet.client.PromptFleetClient;
import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.KeySettings;
import io.promptfleet.common.config.ModelSettings;
import io.promptfleet.common.config.ProviderProtocol;
import io.promptfleet.common.config.ProviderSettings;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.config.TlsSettings;
import io.promptfleet.common.job.JobStatus;
import io.promptfleet.common.job.Result;
import io.promptfleet.common.kafka.TopicAdmin;
import io.promptfleet.dispatcher.DispatcherService;
import io.promptfleet.kafka.embedded.EmbeddedKafka;
import io.promptfleet.simulator.SimulatedProvider;
import io.promptfleet.simulator.SimulatorOptions;
import io.promptfleet.worker.WorkerService;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code promptfleet dev}: an embedded Kafka broker, the dispatcher, workers and a simulated provider in one
 * process, until Ctrl-C.
 */
@Command(name = "dev", mixinStandardHelpOptions = true,
    description = "Run the whole fleet in this process: embedded Kafka, dispatcher, workers, simulated provider.")
final class DevCommand implements Callable<Integer> {

  private static final String UPSTREAM = "upstream";
  /** The provider name of the simulator in dev.yaml. */
  static final String SIM_PROVIDER = "sim";
  /** The override dev mode sets to the simulator's address (a dev configuration may leave it out). */
  static final String SIM_BASE_URL = "promptfleet.providers." + SIM_PROVIDER + ".base_url";
  /** The dev broker's share-group heartbeat interval (see {@link #call}). */
  static final String DEV_SHARE_HEARTBEAT_MS = "5000";
  /** How often the dev broker's controller writes a no-op record when nothing changes (Kafka's default 500 ms). */
  static final String DEV_METADATA_IDLE_MS = "5000";

  @Option(names = "--kafka-port", defaultValue = "9092", description = "embedded broker port (default 9092)")
  int kafkaPort;

  @Option(names = "--data-dir", description = "broker data directory (default: a temporary one, deleted on exit)")
  Path dataDir;

  @Option(names = "--workers", defaultValue = "2", description = "workers to run (default 2)")
  int workers;

  @Option(names = "--http-port", defaultValue = "8080",
      description = "dispatcher's /metrics port; worker N uses this + N (default 8080; 0: free ports for all)")
  int httpPort;

  @Option(names = "--sim-port", defaultValue = "18080", description = "simulated provider port (default 18080)")
  int simPort;

  @Option(names = "--provider-url",
      description = "use this OpenAI-compatible server (e.g. http://127.0.0.1:11434/v1) instead of the simulator;"
          + " jobs' model names are passed through")
  String providerUrl;

  @Option(names = "--api-key-env", description = "environment variable with the provider's API key")
  String apiKeyEnv;

  @Option(names = "--protocol", defaultValue = "openai",
      description = "with --provider-url: how to speak to it: openai (default), azure-openai, anthropic,"
          + " openai-responses")
  String protocol;

  @Option(names = "--api-version",
      description = "with --provider-url: Azure's api-version query parameter, or Anthropic's anthropic-version header")
  String apiVersion;

  @Option(names = "--ca-file", description = "with --provider-url: a PEM bundle to trust besides the JVM's CAs")
  Path caFile;

  @Option(names = "--key-streams", defaultValue = "16",
      description = "with --provider-url: concurrent streams the key may hold (default 16)")
  int keyStreams;

  @Option(names = "--key-rpm", defaultValue = "600",
      description = "with --provider-url: requests per minute the key may send (default 600)")
  int keyRpm;

  @Option(names = "--key-tpm", defaultValue = "1000000",
      description = "with --provider-url: tokens per minute the key may use (default 1000000)")
  long keyTpm;

  @Option(names = "--config", description = "a configuration file instead of the bundled config/dev.yaml")
  Path config;

  @Option(names = "--exit-after-jobs", paramLabel = "N",
      description = "once ready, send N prompts through the fleet, wait for their results and stop (exit 1 if one"
          + " did not succeed): a smoke test, a start-up time, and the launcher's class-data-sharing training run")
  Integer exitAfterJobs;

  @Override
  public Integer call() throws Exception {
    if (workers < 1) {
      throw new IllegalArgumentException("--workers must be >= 1");
    }
    if (providerUrl == null && (apiKeyEnv != null || apiVersion != null || caFile != null
        || !"openai".equals(protocol))) {
      throw new IllegalArgumentException("--api-key-env, --protocol, --api-version and --ca-file go with"
          + " --provider-url");
    }
    ProviderProtocol upstreamProtocol = ProviderProtocol.of(protocol);
    if (keyStreams < 1 || keyRpm < 1 || keyTpm < 1) {
      throw new IllegalArgumentException("--key-streams, --key-rpm and --key-tpm must be >= 1");
    }
    if (apiKeyEnv != null && (System.getenv(apiKeyEnv) == null || System.getenv(apiKeyEnv).isBlank())) {
      throw new IllegalArgumentException("environment variable " + apiKeyEnv + " is not set");
    }
    long t0 = System.nanoTime();
    // Read by the shutdown hook while start-up may still add to it (Ctrl-C during start).
    List<AutoCloseable> toClose = new java.util.concurrent.CopyOnWriteArrayList<>();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.err.println("promptfleet dev: stopping...");
      for (int i = toClose.size() - 1; i >= 0; i--) {
        try {
          toClose.get(i).close();
        } catch (Exception e) {
          System.err.println("promptfleet dev: " + e);
        }
      }
      stopped.countDown();
    }, "pf-shutdown"));

    System.err.println("promptfleet dev: starting Kafka on 127.0.0.1:" + kafkaPort + " ...");
    // Kafka's default share heartbeat (5 s), not the embedded broker's 0.5 s for tests that start many short-lived
    // workers: each lane is a member, and 32 lanes heartbeating twice a second were a fifth of the idle fleet's CPU.
    EmbeddedKafka.Builder kb = EmbeddedKafka.builder().port(kafkaPort)
        .brokerProperty("group.share.heartbeat.interval.ms", DEV_SHARE_HEARTBEAT_MS)
        // The controller's no-op record every 5 s instead of Kafka's 500 ms: each one wakes the raft I/O thread, the
        // controller and the broker's metadata loader, and in a one-node dev fleet it only feeds lag metrics.
        .brokerProperty("metadata.max.idle.interval.ms", DEV_METADATA_IDLE_MS);
    if (dataDir != null) {
      kb.dataDir(dataDir);
    }
    EmbeddedKafka kafka = kb.start();
    toClose.add(kafka);
    Vertx vertx = Vertx.vertx();
    toClose.add(() -> vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS));

    Properties overrides = new Properties();
    overrides.setProperty("promptfleet.kafka.bootstrap_servers", kafka.bootstrapServers());
    String providerText;
    FleetConfig cfg;
    if (providerUrl == null) {
      if (System.getenv("PROMPTFLEET_SIM_KEY") == null && System.getProperty("PROMPTFLEET_SIM_KEY") == null) {
        byte[] b = new byte[12];
        new SecureRandom().nextBytes(b);
        System.setProperty("PROMPTFLEET_SIM_KEY", "sk-sim-" + HexFormat.of().formatHex(b));
      }
      SimulatorOptions simOptions = simulatorFor(config, overrides, simPort);
      SimulatedProvider sim = bound(() -> SimulatedProvider.start(vertx, simOptions)
          .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS),
          simPort, "the simulated provider", "--sim-port");
      toClose.add(() -> sim.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS));
      overrides.setProperty(SIM_BASE_URL, sim.baseUrl());
      cfg = Configs.load(config, "dev.yaml", overrides);
      providerText = "provider    simulated, " + sim.baseUrl();
    } else {
      String keyVar = apiKeyEnv != null ? apiKeyEnv : "PROMPTFLEET_UPSTREAM_KEY";
      if (apiKeyEnv == null && System.getenv(keyVar) == null) {
        System.setProperty(keyVar, "no-key"); // local servers (Ollama, vLLM) ignore it
      }
      FleetConfig base = Configs.load(config, "dev.yaml", overrides);
      cfg = base
          .withProviders(Map.of(UPSTREAM, new ProviderSettings(providerUrl, null, null, null, null, upstreamProtocol,
              apiVersion, null, caFile == null ? null : new TlsSettings(caFile.toString(), null, null, null), null)))
          .withKeys(Map.of(UPSTREAM, new KeySettings(UPSTREAM, keyVar, null, keyStreams, keyRpm, keyTpm, null)))
          .withModels(Map.of("*", new ModelSettings(List.of(
              new RouteSettings(UPSTREAM, null, List.of(UPSTREAM), null, null, null, null)))))
          .validated();
      providerText = "provider    " + providerUrl + " (" + upstreamProtocol.wireName()
          + "; model names passed through)\n  key         " + keyStreams + " concurrent streams, " + keyRpm
          + " requests/min, " + keyTpm + " tokens/min (the fleet never goes beyond them: raise them with"
          + " --key-streams, --key-rpm, --key-tpm to what your key allows)";
    }

    TopicAdmin.ensureFleetTopics(cfg);
    final FleetConfig fleet = cfg;
    DispatcherService dispatcher = bound(() -> DispatcherService.start(
        fleet.withDispatcher(fleet.dispatcher().withHttpPort(httpPort)), vertx, "dispatcher-dev"),
        httpPort, "the dispatcher's HTTP endpoints", "--http-port");
    toClose.add(dispatcher);
    List<WorkerService> ws = new ArrayList<>();
    for (int i = 1; i <= workers; i++) {
      final int port = httpPort == 0 ? 0 : httpPort + i; // 0: any free port, for each
      final String id = "worker-" + i;
      WorkerService w = bound(() -> WorkerService.start(fleet, vertx, id, port), port,
          "worker " + i + "'s HTTP endpoints", "--http-port");
      ws.add(w);
      toClose.add(() -> {
        w.drain(Duration.ofSeconds(10));
        w.close();
      });
    }
    awaitReady(dispatcher, ws);
    double secs = (System.nanoTime() - t0) / 1e9;
    StringBuilder wp = new StringBuilder();
    ws.forEach(w -> wp.append(" :").append(w.httpPort()));
    String b = kafka.bootstrapServers();
    System.out.printf("""

        promptfleet dev is READY in %.1f s
          Kafka       %s   (jobs: llm.jobs.high|normal|low, replies: llm.replies)
          dispatcher  http://127.0.0.1:%d/metrics
          workers    %s
          %s

        Try it from another terminal:
          ./promptfleet submit "Tell me about Kafka"
        or with any Kafka client, e.g. kcat:
          echo '{"job_id":"j-1","model":"sim","messages":[{"role":"user","content":"hello"}],"max_tokens":64,"reply_to":"llm.replies"}' \\
            | kcat -P -b %s -t llm.jobs.normal -k j-1
          kcat -C -b %s -t llm.replies -f '%%k %%s\\n'

        Ctrl-C stops everything.
        %n""", secs, b, dispatcher.httpPort(), wp, providerText, b, b);
    System.out.flush();
    if (exitAfterJobs != null) {
      System.exit(runJobs(b, exitAfterJobs, t0)); // the shutdown hook closes everything
    }
    stopped.await();
    return 0;
  }

  /** {@code --exit-after-jobs}: {@code n} prompts through the fleet, one result each; 0 when all succeeded. */
  private static int runJobs(String bootstrap, int n, long t0) throws Exception {
    long s0 = System.nanoTime();
    int failed = 0;
    try (PromptFleetClient client = PromptFleetClient.builder(bootstrap).build()) {
      List<CompletableFuture<Result>> results = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        results.add(client.submit(JobRequest.prompt("dev check " + i).model("sim").maxTokens(16).build()));
      }
      for (CompletableFuture<Result> r : results) {
        Result res = r.get(60, TimeUnit.SECONDS);
        failed += res.status() == JobStatus.SUCCEEDED ? 0 : 1;
      }
    }
    System.out.printf("promptfleet dev: %d jobs answered in %.1f s (%d not succeeded); stopping, %.1f s after start%n",
        n, (System.nanoTime() - s0) / 1e9, failed, (System.nanoTime() - t0) / 1e9);
    System.out.flush();
    return failed == 0 ? 0 : 1;
  }

  /** Something that listens on a port. */
  private interface Listener<T> {
    T start() throws Exception;
  }

  /** Starts it, turning "address already in use" into a sentence that names the port and the flag. */
  private static <T> T bound(Listener<T> l, int port, String what, String flag) throws Exception {
    try {
      return l.start();
    } catch (Exception e) {
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof java.net.BindException) {
          throw new IllegalArgumentException("port " + port + " (" + what + ") is already in use: stop what uses it,"
              + " or pass " + flag + " N", e);
        }
      }
      throw e;
    }
  }

  private static void awaitReady(DispatcherService d, List<WorkerService> ws) throws InterruptedException {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (System.nanoTime() < until) {
      if (d.dispatcher().failure() != null) {
        throw new IllegalStateException("the dispatcher failed: " + d.dispatcher().failure());
      }
      boolean ready = d.dispatcher().isActive();
      for (WorkerService w : ws) {
        ready &= w.worker().notReadyReason() == null;
      }
      if (ready) {
        return;
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("the fleet did not become ready within 90 s");
  }

  /**
   * The simulator's options for a dev fleet: its rate-limit headers report the largest requests and tokens per minute
   * of the keys on the simulated provider ({@value #SIM_PROVIDER}), at least the simulator's defaults. A key allowed
   * more than the simulator reports would stop at the simulator's figure for the rest of each minute (the dispatcher
   * honours a provider's remaining budget), which looked like a stalled fleet: 10,000 requests a minute is ~170
   * jobs/s, less than a dev fleet runs.
   */
  static SimulatorOptions simulatorFor(Path config, Properties overrides, int simPort) {
    Properties planned = new Properties();
    planned.putAll(overrides);
    // the simulator's address is known once it listens; the configuration is read for its keys before that
    planned.setProperty(SIM_BASE_URL, "http://127.0.0.1:" + simPort + "/v1");
    return simulatorFor(Configs.load(config, "dev.yaml", planned)).withPort(simPort);
  }

  /** As {@link #simulatorFor(Path, Properties, int)}, for a configuration already read (any port). */
  static SimulatorOptions simulatorFor(FleetConfig cfg) {
    long requests = SimulatorOptions.DEFAULT_RATE_LIMIT_REQUESTS;
    long tokens = SimulatorOptions.DEFAULT_RATE_LIMIT_TOKENS;
    for (KeySettings k : cfg.keys().values()) {
      if (SIM_PROVIDER.equals(k.provider())) {
        requests = Math.max(requests, k.requestsPerMinute());
        tokens = Math.max(tokens, k.tokensPerMinute());
      }
    }
    return SimulatorOptions.defaults().withRateLimits(requests, tokens);
  }
}
