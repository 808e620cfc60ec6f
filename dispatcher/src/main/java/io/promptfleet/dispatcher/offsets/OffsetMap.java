package io.promptfleet.dispatcher.offsets;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * The records of a partition handled above its committed offset, written into the offset commit's metadata, as
 * parallel-consumer does: a dispatcher that reads the partition again from that offset (after an aborted
 * transaction, a takeover or a rebalance) skips them instead of dispatching or answering them a second time.
 *
 * <p>Format: {@code pf1:} then URL-safe base64 (no padding) of unsigned varints: for each handled range, its
 * distance from the end of the previous range (the first from the committed offset), then its length. Offsets the
 * consumer never returns (transaction markers) fall inside ranges: skipping them is harmless. Empty metadata means
 * nothing above the committed offset was handled. A varint of at most 5 bytes covers runs up to 2^35 records, so
 * {@code n} ranges take at most {@code 4 + ceil(10 n * 4 / 3)} characters.
 *
 * <p>Immutable ranges in, a string out, and back: pure.
 */
public final class OffsetMap {
  /** The prefix that names the format; metadata without it (from another tool) is treated as no information. */
  static final String PREFIX = "pf1:";

  /** A run of handled offsets, {@code [from, to)}. */
  public record Range(long from, long to) {
    public Range {
      if (to <= from) {
        throw new IllegalArgumentException("empty range [" + from + ", " + to + ")");
      }
    }
  }

  private OffsetMap() {}

  /**
   * Encodes {@code ranges} (sorted, disjoint, not touching, all at or above {@code base}) relative to {@code base};
   * "" for none.
   */
  public static String encode(long base, List<Range> ranges) {
    if (ranges.isEmpty()) {
      return "";
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(ranges.size() * 3);
    long prev = base;
    for (Range r : ranges) {
      if (r.from() < prev) {
        throw new IllegalArgumentException("ranges must be sorted, disjoint and at or above " + base + ": " + ranges);
      }
      varint(out, r.from() - prev);
      varint(out, r.to() - r.from());
      prev = r.to();
    }
    return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(out.toByteArray());
  }

  /** The ranges that {@link #encode} wrote for {@code base}; none when the metadata is empty or not ours. */
  public static List<Range> decode(long base, String metadata) {
    List<Range> ranges = new ArrayList<>();
    if (metadata == null || !metadata.startsWith(PREFIX)) {
      return ranges;
    }
    byte[] b = Base64.getUrlDecoder().decode(metadata.substring(PREFIX.length()));
    int[] at = {0};
    long prev = base;
    while (at[0] < b.length) {
      long from = prev + varint(b, at);
      long to = from + varint(b, at);
      ranges.add(new Range(from, to));
      prev = to;
    }
    return ranges;
  }

  /** The longest metadata {@code ranges} ranges can take. */
  public static int maxLength(int ranges) {
    return PREFIX.length() + (ranges * 10 * 4 + 2) / 3;
  }

  private static void varint(ByteArrayOutputStream out, long v) {
    while ((v & ~0x7FL) != 0) {
      out.write((int) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.write((int) v);
  }

  private static long varint(byte[] b, int[] at) {
    long v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at[0] >= b.length) {
        throw new IllegalArgumentException("offset map ends inside a number");
      }
      byte x = b[at[0]++];
      v |= (long) (x & 0x7F) << shift;
      if ((x & 0x80) == 0) {
        return v;
      }
    }
    throw new IllegalArgumentException("offset map has a number longer than 64 bits");
  }
}
