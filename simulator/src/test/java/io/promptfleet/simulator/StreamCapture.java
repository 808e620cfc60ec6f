package io.promptfleet.simulator;

import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Reads a streaming response body on a daemon thread so a test can look at what arrived so far, wait
 * for more, and tell a clean end of the body from a broken connection.
 */
final class StreamCapture implements AutoCloseable {

  final HttpResponse<InputStream> response;
  private final StringBuilder text = new StringBuilder();
  private final CountDownLatch ended = new CountDownLatch(1);
  private volatile IOException failure;

  StreamCapture(HttpResponse<InputStream> response) {
    this.response = response;
    Thread reader = new Thread(this::readAll, "stream-capture");
    reader.setDaemon(true);
    reader.start();
  }

  private void readAll() {
    byte[] buf = new byte[64 * 1024];
    try (InputStream in = response.body()) {
      int n;
      while ((n = in.read(buf)) >= 0) {
        synchronized (text) {
          text.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
        }
      }
    } catch (IOException e) {
      failure = e;
    } finally {
      ended.countDown();
    }
  }

  /** Everything received so far (ASCII/Latin-1). */
  String text() {
    synchronized (text) {
      return text.toString();
    }
  }

  /** Waits until the body ended (cleanly or not); false on timeout. */
  boolean awaitEnd(Duration timeout) throws InterruptedException {
    return ended.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The error that ended the body, null for a clean end (or while still reading). */
  IOException failure() {
    return failure;
  }

  /** Waits until the received text satisfies {@code condition}. */
  void awaitText(String what, Predicate<String> condition) throws InterruptedException {
    SimulatorHarness.awaitCondition(what, () -> condition.test(text()));
  }

  /** Reads the whole body and returns it. */
  String readToEnd() throws InterruptedException {
    if (!awaitEnd(SimulatorHarness.TIMEOUT)) {
      throw new AssertionError("stream did not end within " + SimulatorHarness.TIMEOUT);
    }
    return text();
  }

  /** Disconnects (closing the body stream closes the HTTP/1.1 connection). */
  @Override
  public void close() throws IOException {
    response.body().close();
  }
}
