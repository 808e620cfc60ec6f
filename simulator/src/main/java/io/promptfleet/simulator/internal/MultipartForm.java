package io.promptfleet.simulator.internal;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A {@code multipart/form-data} body (RFC 7578) read whole: each part's name, optional filename and bytes. Enough
 * for {@code POST /v1/files} (fields {@code purpose} and {@code file}); not a general parser (no nested multiparts,
 * no transfer encodings). Immutable once read; stateless helpers; thread-safe.
 *
 * @param parts the parts by name, in order
 */
record MultipartForm(Map<String, Part> parts) {

  /** One part: its {@code filename} (null for a plain field) and its bytes. */
  record Part(String filename, byte[] bytes) {
    String text() {
      return new String(bytes, StandardCharsets.UTF_8);
    }
  }

  /**
   * @param contentType the request's {@code Content-Type}, which names the boundary
   * @throws InvalidRequestException when the body is not multipart/form-data or is malformed
   */
  static MultipartForm parse(String contentType, Buffer body) throws InvalidRequestException {
    String boundary = boundary(contentType);
    byte[] bytes = body.getBytes();
    // Latin-1 keeps one char per byte, so indexes found in the text are byte offsets.
    String text = new String(bytes, StandardCharsets.ISO_8859_1);
    String delimiter = "--" + boundary;
    int at = text.indexOf(delimiter);
    if (at < 0) {
      throw malformed("no part starts with the boundary");
    }
    Map<String, Part> parts = new LinkedHashMap<>();
    while (true) {
      int lineEnd = at + delimiter.length();
      if (text.startsWith("--", lineEnd)) {
        return new MultipartForm(parts); // the closing delimiter
      }
      int headersStart = text.indexOf("\r\n", lineEnd);
      int headersEnd = headersStart < 0 ? -1 : text.indexOf("\r\n\r\n", headersStart);
      if (headersEnd < 0) {
        throw malformed("a part has no header block");
      }
      String headers = text.substring(headersStart + 2, headersEnd);
      int contentStart = headersEnd + 4;
      int next = text.indexOf("\r\n" + delimiter, contentStart);
      if (next < 0) {
        throw malformed("the closing boundary is missing");
      }
      String disposition = header(headers, "content-disposition");
      String name = disposition == null ? null : param(disposition, "name");
      if (name == null) {
        throw malformed("a part has no Content-Disposition name");
      }
      byte[] content = new byte[next - contentStart];
      System.arraycopy(bytes, contentStart, content, 0, content.length);
      String filename = param(disposition, "filename");
      parts.put(name, new Part(filename == null ? null : new String(
          filename.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8), content));
      at = next + 2;
    }
  }

  private static String boundary(String contentType) throws InvalidRequestException {
    if (contentType == null || !contentType.toLowerCase(Locale.ROOT).startsWith("multipart/form-data")) {
      throw new InvalidRequestException("Invalid Content-Type header (" + contentType
          + "), expected multipart/form-data.", null);
    }
    String boundary = param(contentType, "boundary");
    if (boundary == null || boundary.isEmpty()) {
      throw malformed("the Content-Type names no boundary");
    }
    return boundary;
  }

  private static String header(String headers, String name) {
    for (String line : headers.split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).strip().equalsIgnoreCase(name)) {
        return line.substring(colon + 1).strip();
      }
    }
    return null;
  }

  /** A {@code key=value} or {@code key="value"} parameter of a header value. */
  private static String param(String value, String key) {
    for (String piece : value.split(";")) {
      String p = piece.strip();
      int eq = p.indexOf('=');
      if (eq > 0 && p.substring(0, eq).strip().equalsIgnoreCase(key)) {
        String v = p.substring(eq + 1).strip();
        return v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v;
      }
    }
    return null;
  }

  private static InvalidRequestException malformed(String why) {
    return new InvalidRequestException("Could not parse multipart form: " + why + ".", null);
  }
}
