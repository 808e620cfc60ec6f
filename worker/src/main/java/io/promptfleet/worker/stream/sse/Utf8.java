package io.promptfleet.worker.stream.sse;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * UTF-8 decoding exactly as the WHATWG Encoding standard's "UTF-8 decode without BOM" (each maximal invalid
 * subpart becomes one U+FFFD), which the SSE specification requires.
 *
 * <p>The JDK decoder is used first because it is intrinsified and fast; it agrees with the WHATWG algorithm on
 * all well-formed input but counts replacement characters differently for some malformed input (for example
 * {@code ED A0 80}, an encoded surrogate, is one U+FFFD in the JDK and three in WHATWG). Malformed input always
 * yields at least one U+FFFD from the JDK, so only a result containing U+FFFD is decoded again, by the slow,
 * exact algorithm below.
 *
 * <p>{@link #isWellFormed} tells whether bytes are well-formed UTF-8 (then every decoder, the JDK's, Jackson's or
 * this one, reads the same characters from them), for a listener that parses an event's bytes itself.
 */
public final class Utf8 {
  private static final char REPLACEMENT = '\uFFFD';
  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long HIGH_BITS = 0x8080808080808080L;

  private Utf8() {}

  /** The characters of {@code bytes[offset, offset + length)}, each maximal invalid subpart one U+FFFD. */
  public static String decode(byte[] bytes, int offset, int length) {
    if (length == 0) {
      return "";
    }
    String fast = new String(bytes, offset, length, StandardCharsets.UTF_8);
    if (fast.indexOf(REPLACEMENT) < 0) {
      return fast;
    }
    return decodeWhatwg(bytes, offset, length);
  }

  /**
   * Whether {@code bytes[offset, offset + length)} is well-formed UTF-8 (Unicode's Table 3-7: no overlong forms, no
   * surrogates, nothing above U+10FFFF, no sequence cut off at the end). ASCII is checked eight bytes at a time.
   */
  public static boolean isWellFormed(byte[] bytes, int offset, int length) {
    int i = offset;
    int end = offset + length;
    while (i < end) {
      if (i <= end - Long.BYTES && ((long) LONGS.get(bytes, i) & HIGH_BITS) == 0) {
        i += Long.BYTES;
        continue;
      }
      int b = bytes[i] & 0xFF;
      if (b < 0x80) {
        i++;
        continue;
      }
      int needed;
      int lower = 0x80;
      int upper = 0xBF;
      if (b >= 0xC2 && b <= 0xDF) {
        needed = 1;
      } else if (b >= 0xE0 && b <= 0xEF) {
        needed = 2;
        lower = b == 0xE0 ? 0xA0 : 0x80;
        upper = b == 0xED ? 0x9F : 0xBF;
      } else if (b >= 0xF0 && b <= 0xF4) {
        needed = 3;
        lower = b == 0xF0 ? 0x90 : 0x80;
        upper = b == 0xF4 ? 0x8F : 0xBF;
      } else {
        return false;
      }
      if (end - i <= needed) {
        return false;
      }
      int second = bytes[i + 1] & 0xFF;
      if (second < lower || second > upper) {
        return false;
      }
      for (int k = 2; k <= needed; k++) {
        int c = bytes[i + k] & 0xFF;
        if (c < 0x80 || c > 0xBF) {
          return false;
        }
      }
      i += needed + 1;
    }
    return true;
  }

  /** The WHATWG Encoding standard's UTF-8 decoder, step by step. */
  static String decodeWhatwg(byte[] bytes, int offset, int length) {
    StringBuilder out = new StringBuilder(length);
    int codePoint = 0;
    int needed = 0;
    int seen = 0;
    int lower = 0x80;
    int upper = 0xBF;
    int end = offset + length;
    int i = offset;
    while (i < end) {
      int b = bytes[i] & 0xFF;
      if (needed == 0) {
        i++;
        if (b <= 0x7F) {
          out.append((char) b);
        } else if (b >= 0xC2 && b <= 0xDF) {
          needed = 1;
          codePoint = b & 0x1F;
        } else if (b >= 0xE0 && b <= 0xEF) {
          if (b == 0xE0) {
            lower = 0xA0;
          } else if (b == 0xED) {
            upper = 0x9F;
          }
          needed = 2;
          codePoint = b & 0x0F;
        } else if (b >= 0xF0 && b <= 0xF4) {
          if (b == 0xF0) {
            lower = 0x90;
          } else if (b == 0xF4) {
            upper = 0x8F;
          }
          needed = 3;
          codePoint = b & 0x07;
        } else {
          out.append(REPLACEMENT);
        }
        continue;
      }
      if (b < lower || b > upper) {
        // The sequence so far is a maximal invalid subpart; this byte is processed again as a fresh start.
        codePoint = 0;
        needed = 0;
        seen = 0;
        lower = 0x80;
        upper = 0xBF;
        out.append(REPLACEMENT);
        continue;
      }
      i++;
      lower = 0x80;
      upper = 0xBF;
      codePoint = (codePoint << 6) | (b & 0x3F);
      seen++;
      if (seen == needed) {
        out.appendCodePoint(codePoint);
        codePoint = 0;
        needed = 0;
        seen = 0;
      }
    }
    if (needed != 0) {
      out.append(REPLACEMENT);
    }
    return out.toString();
  }
}
