package io.promptfleet.launcher;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * {@code promptfleet batch}'s progress on standard error: done / failed / in flight / rate / ETA, a bar on a
 * terminal, a line every 5 s otherwise. The counts change together under one lock, so a line never shows an
 * answered line as neither done nor in flight.
 */
final class BatchProgress {
  final long total;
  final long skipped;
  private long ok;
  private long failed;
  private long inFlight;
  final boolean tty;
  final PrintWriter err;
  final long t0 = System.nanoTime();
  long lastPrint;

  BatchProgress(long total, long skipped, boolean tty, PrintWriter err) {
    this.total = total;
    this.skipped = skipped;
    this.tty = tty;
    this.err = err;
  }

  /** A line was sent. */
  synchronized void sent() {
    inFlight++;
  }

  /** A sent line was written. */
  synchronized void answered(boolean success) {
    inFlight--;
    done(success);
  }

  /** A line was written. */
  synchronized void done(boolean success) {
    if (success) {
      ok++;
    } else {
      failed++;
    }
  }

  synchronized long failed() {
    return failed;
  }

  synchronized void maybePrint() {
    long now = System.nanoTime();
    if (now - lastPrint < (tty ? 200_000_000L : 5_000_000_000L)) {
      return;
    }
    lastPrint = now;
    err.print(line() + (tty ? "\r" : "\n"));
    err.flush();
  }

  synchronized String line() {
    long done = ok + failed;
    double secs = Math.max(0.001, (System.nanoTime() - t0) / 1e9);
    double rate = done / secs;
    long remaining = Math.max(0, total - skipped - done);
    String eta = rate > 0 ? Math.round(remaining / rate) + "s" : "?";
    long all = Math.max(1, total - skipped);
    int width = 30;
    int filled = (int) Math.min(width, width * done / all);
    String bar = tty ? "[" + "#".repeat(filled) + "-".repeat(width - filled) + "] " : "";
    return String.format(Locale.ROOT, "%s%d/%d done, %d failed, %d in flight, %.1f/s, ETA %s", bar, done,
        total - skipped, failed, inFlight, rate, eta);
  }

  void finish() {
    err.println((tty ? "\n" : "") + line());
  }
}
