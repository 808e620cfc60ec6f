package io.promptfleet.worker.stream;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Writes the JSON of one attempt's chunk records by hand: the same document {@code Json.bytes(chunk)} gives (a
 * chunk without a finish reason), at a fraction of the cost, since it runs once per token. The part that is the same
 * for every chunk of the attempt is encoded once. Not thread-safe; one per attempt.
 */
final class ChunkEncoder {
  private static final byte[] SEQ = ",\"seq\":".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] DELTA = ",\"delta\":\"".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] END = "\"}".getBytes(StandardCharsets.US_ASCII);
  private final byte[] head;

  ChunkEncoder(String jobId, int attempt) {
    head = ("{\"type\":\"chunk\",\"job_id\":\"" + new String(JsonStringEncoder.getInstance().quoteAsString(jobId))
        + "\",\"attempt\":" + attempt).getBytes(StandardCharsets.UTF_8);
  }

  byte[] encode(long seq, String delta) {
    byte[] s = Long.toString(seq).getBytes(StandardCharsets.US_ASCII);
    byte[] d = JsonStringEncoder.getInstance().quoteAsUTF8(delta);
    byte[] out = Arrays.copyOf(head, head.length + SEQ.length + s.length + DELTA.length + d.length + END.length);
    int at = head.length;
    System.arraycopy(SEQ, 0, out, at, SEQ.length);
    at += SEQ.length;
    System.arraycopy(s, 0, out, at, s.length);
    at += s.length;
    System.arraycopy(DELTA, 0, out, at, DELTA.length);
    at += DELTA.length;
    System.arraycopy(d, 0, out, at, d.length);
    at += d.length;
    System.arraycopy(END, 0, out, at, END.length);
    return out;
  }
}
