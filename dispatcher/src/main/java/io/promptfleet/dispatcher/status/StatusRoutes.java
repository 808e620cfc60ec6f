package io.promptfleet.dispatcher.status;

import io.promptfleet.common.codec.Json;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.function.Supplier;

/**
 * Mounts the dashboard ({@code GET /}) and its data ({@code GET /api/status}) on the dispatcher's HTTP server.
 * Handlers run on the event loop and only serialise the latest immutable snapshot.
 */
public final class StatusRoutes {
  private static final Buffer DASHBOARD = load();

  private StatusRoutes() {}

  public static void mount(Router router, Supplier<StatusSnapshot> status) {
    router.get("/").handler(ctx -> ctx.response().putHeader("content-type", "text/html; charset=utf-8")
        .putHeader("cache-control", "no-cache").end(DASHBOARD));
    router.get("/api/status").handler(ctx -> ctx.response().putHeader("content-type", "application/json")
        .putHeader("cache-control", "no-store").end(Buffer.buffer(Json.bytes(status.get()))));
  }

  private static Buffer load() {
    try (InputStream in = StatusRoutes.class.getResourceAsStream("dashboard.html")) {
      if (in == null) {
        throw new IllegalStateException("dashboard.html is missing from the dispatcher jar");
      }
      return Buffer.buffer(in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
