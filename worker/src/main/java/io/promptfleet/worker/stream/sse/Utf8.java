package io.promptfleet.worker.stream.sse;

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
 */
final class Utf8 {
  private static final char REPLACEMENT = '\uFFFD';

  private Utf8() {}

  static String decode(byte[] bytes, int offset, int length) {
    if (length == 0) {
      return "";
    }
    String fast = new String(bytes, offset, length, StandardCharsets.UTF_8);
    if (fast.indexOf(REPLACEMENT) < 0) {
      return fast;
    }
    return decodeWhatwg(bytes, offset, length);
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
