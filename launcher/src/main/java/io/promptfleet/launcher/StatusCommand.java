package io.promptfleet.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code promptfleet status}: the fleet as the active dispatcher sees it, as text. */
@Command(name = "status", mixinStandardHelpOptions = true,
    description = "Show workers, keys, routes, queues and totals from the dispatcher (the dashboard is at its /).")
final class StatusCommand implements Callable<Integer> {
  @Option(names = "--url", defaultValue = "http://127.0.0.1:8080", description = "dispatcher (default ${DEFAULT-VALUE})")
  String url;

  @Option(names = "--json", description = "print the raw JSON")
  boolean json;

  @Override
  public Integer call() throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpResponse<String> resp;
    try {
      resp = http.send(HttpRequest.newBuilder(URI.create(url.replaceAll("/$", "") + "/api/status"))
          .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
    } catch (java.io.IOException e) {
      throw new IllegalStateException("cannot reach the dispatcher at " + url + " ("
          + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage())
          + "). Is it running? Point to another with --url.", e);
    }
    if (resp.statusCode() != 200) {
      throw new IllegalStateException("dispatcher answered HTTP " + resp.statusCode() + ": " + resp.body());
    }
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    if (json) {
      out.println(resp.body());
      return 0;
    }
    out.print(render(Json.mapper().readTree(resp.body())));
    return 0;
  }

  static String render(JsonNode s) {
    StringBuilder b = new StringBuilder();
    JsonNode d = s.path("dispatcher");
    b.append(String.format(Locale.ROOT, "dispatcher %s (%s) at %s%n", d.path("instance").asText(),
        d.path("active").asBoolean() ? "active" : "standby", s.path("at").asText()));
    JsonNode t = s.path("totals");
    b.append(String.format(Locale.ROOT, "assignments %d, tokens %d (%.1f/s), cost $%.4f%n%n",
        t.path("assignments").asLong(), t.path("tokens").asLong(), t.path("tokens_per_second").asDouble(),
        t.path("cost_usd").asDouble()));
    b.append("QUEUE      WAITING\n");
    s.path("queues").fields().forEachRemaining(e ->
        b.append(String.format(Locale.ROOT, "%-10s %7d%n", e.getKey(), e.getValue().asLong())));
    b.append(String.format(Locale.ROOT, "%nKEY                  IN FLIGHT   REQ/WINDOW      TOKENS/WINDOW        STATE%n"));
    for (JsonNode k : s.path("keys")) {
      String state = keyState(k);
      b.append(String.format(Locale.ROOT, "%-20s %4d/%-5d %6d/%-7d %9d/%-10d %s%n", k.path("name").asText(),
          k.path("in_flight").asInt(), k.path("max_concurrency").asInt(), k.path("requests_used").asLong(),
          k.path("requests_limit").asLong(), k.path("tokens_used").asLong(), k.path("tokens_limit").asLong(), state));
    }
    b.append(String.format(Locale.ROOT, "%nROUTE                          BREAKER%n"));
    for (JsonNode r : s.path("routes")) {
      b.append(String.format(Locale.ROOT, "%-30s %s%n", r.path("name").asText(), r.path("breaker").asText()));
    }
    b.append(String.format(Locale.ROOT, "%nWORKER                         FREE SLOTS   LAST SEEN%n"));
    for (JsonNode w : s.path("workers")) {
      b.append(String.format(Locale.ROOT, "%-30s %5d/%-5d %6.1f s ago%n", w.path("id").asText(),
          w.path("slots_free").asInt(), w.path("slots_total").asInt(), w.path("last_seen_ms").asLong() / 1000.0));
    }
    if (!s.path("connections").isEmpty()) {
      b.append(String.format(Locale.ROOT, "%nPROVIDER              OPEN  HTTP/2  STREAMS  WAITING  CONNECTS/S  CONNECT MS"
          + "  FAILED  OVERLOADED%n"));
      for (JsonNode c : s.path("connections")) {
        b.append(String.format(Locale.ROOT, "%-20s %5d %7d %8d %8d %11.1f %11s %7d %11d%n",
            c.path("provider").asText(), c.path("open").asInt(), c.path("http2").asInt(), c.path("streams").asInt(), c.path("waiting").asInt(),
            c.path("connects_per_second").asDouble(), c.hasNonNull("connect_ms_mean")
                ? String.format(Locale.ROOT, "%.1f", c.get("connect_ms_mean").asDouble()) : "-",
            c.path("connect_failures").asLong(), c.path("connect_overloaded").asLong()));
      }
    }
    return b.toString();
  }

  /** Why a key gets no jobs now, if it gets none: disabled, cooling down, its provider's budget used up; else ok. */
  private static String keyState(JsonNode k) {
    if (k.hasNonNull("disabled")) {
      return "disabled: " + k.get("disabled").asText();
    }
    if (k.path("cooldown_ms").asLong() > 0) {
      return "cooling " + k.path("cooldown_ms").asLong() / 1000 + " s";
    }
    if (k.path("provider_budget_ms").asLong() > 0) {
      return "provider budget used up, " + k.path("provider_budget_ms").asLong() / 1000 + " s";
    }
    return "ok";
  }
}
