package io.promptfleet.bench.worker;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.FleetEvent;
import io.promptfleet.common.job.FleetEventGist;
import io.promptfleet.common.job.LeaseOutcome;
import io.promptfleet.common.job.ProviderConnectionStats;
import io.promptfleet.common.job.Usage;
import io.promptfleet.common.kafka.FleetEventHeaders;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a worker's fleet-events watcher spends on each event it reads, with no Kafka: a stream's two events (its
 * {@code lease_started}, and its {@code lease_released} with usage, rate-limit headers and time to first token, as
 * an OpenAI attempt writes it) and one heartbeat in eleven (with one provider's connections), read the old way (the
 * whole JSON parsed into a {@code FleetEvent}, then its gist) and the new way (the gist from the record's header).
 * The two alternate round by round in one thread, so the machine's load falls on both alike; CPU time of the thread
 * per event, median of the rounds after the warm-up. Every worker reads every event of the fleet, so per stream a
 * fleet of N workers spends N × 2 of these. Env: ROUNDS (30), EVENTS per round (200000).
 */
public final class EventReadBench {
  private EventReadBench() {}

  public static void main(String[] args) {
    int rounds = Integer.parseInt(BenchFleet.env("ROUNDS", "30"));
    int events = Integer.parseInt(BenchFleet.env("EVENTS", "200000"));
    Instant at = Instant.parse("2026-11-30T18:00:00.123Z");
    FleetEvent started = new FleetEvent(FleetEvent.Type.LEASE_STARTED, at, "worker-7f3a9c2e1b", "lease-4c1d9e2f7a",
        "job-8e2b4a6c0d", "k1", "openai/gpt-4o-mini", null, null, null, null, null, null, null, null, null, null, null);
    FleetEvent released = FleetEvent.leaseReleased("lease-4c1d9e2f7a", "job-8e2b4a6c0d", "k1", "openai/gpt-4o-mini",
        LeaseOutcome.SUCCEEDED).status(200).usage(new Usage(12, 49, 61))
        .rateLimit(null, Map.of("x-ratelimit-limit-requests", "10000", "x-ratelimit-remaining-requests", "9999",
            "x-ratelimit-reset-requests", "6ms", "x-ratelimit-limit-tokens", "2000000",
            "x-ratelimit-remaining-tokens", "1999939", "x-ratelimit-reset-tokens", "1ms"))
        .timeToFirstTokenMs(212L).by("worker-7f3a9c2e1b", at);
    FleetEvent heartbeat = FleetEvent.heartbeat(at, "worker-7f3a9c2e1b", 64, 61, List.of(
        new ProviderConnectionStats("openai", 8, 0, 61, 0, 9, 9, 41_000, 0, 0)));
    List<byte[]> values = new ArrayList<>();
    List<byte[]> headers = new ArrayList<>();
    for (int i = 0; i < 22; i++) {
      FleetEvent e = i == 21 ? heartbeat : i % 2 == 0 ? started : released;
      values.add(Json.bytes(e));
      headers.add(FleetEventHeaders.of(e).lastHeader(FleetEventGist.HEADER).value());
    }
    long[] sink = new long[2]; // [0] the next event, [1] what was read: so none of it is dead code
    AlternatingRounds.Result r = AlternatingRounds.run(rounds, events, byGist -> {
      int i = (int) (sink[0]++ % values.size());
      FleetEventGist g = byGist ? FleetEventGist.parse(headers.get(i))
          : FleetEventGist.of(Json.read(values.get(i), FleetEvent.class));
      sink[1] += g.atMs() + g.workerId().length();
    });
    List<Double> json = r.first();
    List<Double> gist = r.second();
    System.out.printf(Locale.ROOT, "per fleet event read (median of %d rounds of %d, thread CPU): whole JSON %.2f µs "
        + "(%.2f-%.2f), gist header %.3f µs (%.3f-%.3f); JSON %d/%d bytes (started/released), header %d/%d bytes "
        + "(%d)%n", rounds, events, json.get(rounds / 2), json.get(0), json.get(rounds - 1), gist.get(rounds / 2),
        gist.get(0), gist.get(rounds - 1), values.get(0).length, values.get(1).length, headers.get(0).length,
        headers.get(1).length, sink[1] % 7);
  }

}
