package io.promptfleet.dispatcher.capacity;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Base64;

/**
 * The pixel size of an image given inline as a {@code data:image/...;base64,} URL, read from the image's header
 * only: the PNG {@code IHDR} chunk, a JPEG start-of-frame segment (SOF0 baseline, SOF2 progressive, or any other
 * SOFn), the GIF logical screen descriptor, or the WebP {@code VP8 }/{@code VP8L}/{@code VP8X} chunk. The base64 text
 * is decoded as a stream, as far as the header and no further; the image itself is never decoded. The format is
 * recognised by its signature, not by the media type the URL claims. Stateless and thread-safe.
 */
final class ImageSize {

  /** Width and height in pixels, both positive. */
  record Dims(int width, int height) {}

  private ImageSize() {}

  /** The size of the image a data URL carries, or null when it is not a base64 image whose header can be read. */
  static Dims ofDataUrl(String url) {
    if (url == null || url.length() < 16 || !url.regionMatches(true, 0, "data:image/", 0, 11)) {
      return null;
    }
    int comma = url.indexOf(',', 11);
    if (comma < 0 || !url.regionMatches(true, comma - 7, ";base64", 0, 7)) {
      return null;
    }
    try (InputStream in = Base64.getMimeDecoder().wrap(new AsciiStream(url, comma + 1))) {
      return of(in);
    } catch (IOException | IllegalArgumentException e) {
      return null; // truncated or not base64: the size stays unknown
    }
  }

  /** The size from the start of an image file, or null when the format is not one of PNG, JPEG, GIF, WebP. */
  static Dims of(InputStream in) throws IOException {
    byte[] head = in.readNBytes(12);
    if (head.length < 12) {
      return null;
    }
    if (u8(head, 0) == 0x89 && head[1] == 'P' && head[2] == 'N' && head[3] == 'G') {
      byte[] b = in.readNBytes(12); // bytes 12..23: "IHDR", width, height (big-endian)
      if (b.length < 12 || b[0] != 'I' || b[1] != 'H' || b[2] != 'D' || b[3] != 'R') {
        return null;
      }
      return dims(be32(b, 4), be32(b, 8));
    }
    if (head[0] == 'G' && head[1] == 'I' && head[2] == 'F' && head[3] == '8') {
      return dims(le16(head, 6), le16(head, 8));
    }
    if (head[0] == 'R' && head[1] == 'I' && head[2] == 'F' && head[3] == 'F'
        && head[8] == 'W' && head[9] == 'E' && head[10] == 'B' && head[11] == 'P') {
      return webp(in.readNBytes(18)); // bytes 12..29
    }
    if (u8(head, 0) == 0xFF && u8(head, 1) == 0xD8) {
      return jpeg(head, in);
    }
    return null;
  }

  /** @param b the file's bytes from offset 12: chunk fourcc, chunk size, chunk payload */
  private static Dims webp(byte[] b) {
    if (b.length < 18) {
      return null;
    }
    String chunk = new String(b, 0, 4, java.nio.charset.StandardCharsets.US_ASCII);
    switch (chunk) {
      case "VP8 " -> {
        // lossy: 3-byte frame tag, start code 9D 01 2A, then 14-bit width and height (little-endian)
        if (u8(b, 11) != 0x9D || u8(b, 12) != 0x01 || u8(b, 13) != 0x2A) {
          return null;
        }
        return dims(le16(b, 14) & 0x3FFF, le16(b, 16) & 0x3FFF);
      }
      case "VP8L" -> {
        // lossless: signature 0x2F, then width-1 and height-1 in 14 bits each, little-endian bit order
        if (u8(b, 8) != 0x2F) {
          return null;
        }
        int bits = u8(b, 9) | u8(b, 10) << 8 | u8(b, 11) << 16 | u8(b, 12) << 24;
        return dims((bits & 0x3FFF) + 1, ((bits >>> 14) & 0x3FFF) + 1);
      }
      case "VP8X" -> {
        // extended: flags, 3 reserved bytes, then canvas width-1 and height-1 in 24 bits each
        return dims(le24(b, 12) + 1, le24(b, 15) + 1);
      }
      default -> {
        return null;
      }
    }
  }

  /** Walks the JPEG's marker segments up to the first start-of-frame, skipping the others unread. */
  private static Dims jpeg(byte[] head, InputStream rest) throws IOException {
    InputStream in = new java.io.SequenceInputStream(new java.io.ByteArrayInputStream(head, 2, head.length - 2),
        rest);
    while (true) {
      int b = in.read();
      if (b < 0) {
        return null;
      }
      if (b != 0xFF) {
        return null; // not at a marker: corrupt
      }
      int marker = in.read();
      while (marker == 0xFF) { // fill bytes
        marker = in.read();
      }
      if (marker < 0 || marker == 0xD9 || marker == 0xDA) {
        return null; // end of image or start of scan before any frame header
      }
      if (marker == 0x01 || marker >= 0xD0 && marker <= 0xD8) {
        continue; // standalone markers carry no length
      }
      byte[] len = in.readNBytes(2);
      if (len.length < 2) {
        return null;
      }
      int length = be16(len, 0);
      if (length < 2) {
        return null;
      }
      boolean sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (sof) {
        byte[] f = in.readNBytes(5); // precision, height, width
        return f.length < 5 ? null : dims(be16(f, 3), be16(f, 1));
      }
      try {
        in.skipNBytes(length - 2);
      } catch (EOFException e) {
        return null;
      }
    }
  }

  private static Dims dims(long w, long h) {
    return w > 0 && h > 0 && w <= Integer.MAX_VALUE && h <= Integer.MAX_VALUE ? new Dims((int) w, (int) h) : null;
  }

  private static int u8(byte[] b, int i) {
    return b[i] & 0xFF;
  }

  private static int le16(byte[] b, int i) {
    return u8(b, i) | u8(b, i + 1) << 8;
  }

  private static int le24(byte[] b, int i) {
    return u8(b, i) | u8(b, i + 1) << 8 | u8(b, i + 2) << 16;
  }

  private static int be16(byte[] b, int i) {
    return u8(b, i) << 8 | u8(b, i + 1);
  }

  private static long be32(byte[] b, int i) {
    return (long) u8(b, i) << 24 | u8(b, i + 1) << 16 | u8(b, i + 2) << 8 | u8(b, i + 3);
  }

  /** The characters of a string from an offset, as bytes (base64 text is ASCII); no copy of the string. */
  private static final class AsciiStream extends InputStream {
    private final String s;
    private int pos;

    AsciiStream(String s, int from) {
      this.s = s;
      this.pos = from;
    }

    @Override
    public int read() {
      return pos < s.length() ? s.charAt(pos++) & 0xFF : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (len == 0) {
        return 0;
      }
      int n = Math.min(len, s.length() - pos);
      if (n <= 0) {
        return -1;
      }
      for (int i = 0; i < n; i++) {
        b[off + i] = (byte) s.charAt(pos++);
      }
      return n;
    }
  }
}
