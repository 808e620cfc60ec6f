package io.promptfleet.worker.stream.sse;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** WHATWG Encoding standard UTF-8 decoding: one U+FFFD per maximal invalid subpart. */
class Utf8Test {

  /** {@code values} as bytes from offset 1 of a larger array. */
  private static byte[] atOne(int... values) {
    byte[] bytes = new byte[values.length + 2];
    for (int i = 0; i < values.length; i++) {
      bytes[i + 1] = (byte) values[i];
    }
    return bytes;
  }

  private static String decode(int... values) {
    return Utf8.decode(atOne(values), 1, values.length);
  }

  @Test
  void wellFormed() {
    assertThat(decode()).isEmpty();
    assertThat(decode('a', 0xC3, 0xA9, 0xE6, 0x9D, 0xB1, 0xF0, 0x9F, 0x98, 0x80)).isEqualTo("aé東😀");
    assertThat(decode(0xEF, 0xBF, 0xBD)).isEqualTo("\uFFFD");
    assertThat(decode(0xF4, 0x8F, 0xBF, 0xBF)).isEqualTo(new String(Character.toChars(0x10FFFF)));
  }

  @Test
  void maximalSubparts() {
    assertThat(decode(0xFF, 'a')).isEqualTo("\uFFFDa");
    assertThat(decode(0x80, 0x80)).isEqualTo("\uFFFD\uFFFD");
    assertThat(decode(0xE2, 0x82, 'a')).isEqualTo("\uFFFDa");
    assertThat(decode(0xF0, 0x9F, 0x98)).isEqualTo("\uFFFD");
    assertThat(decode(0xC0, 0x80)).isEqualTo("\uFFFD\uFFFD");
    assertThat(decode(0xE0, 0x80, 0x80)).isEqualTo("\uFFFD\uFFFD\uFFFD");
    assertThat(decode(0xED, 0xA0, 0x80)).isEqualTo("\uFFFD\uFFFD\uFFFD");
    assertThat(decode(0xF0, 0x80, 0x80, 0x80)).isEqualTo("\uFFFD\uFFFD\uFFFD\uFFFD");
    assertThat(decode(0xF4, 0x90, 0x80, 0x80)).isEqualTo("\uFFFD\uFFFD\uFFFD\uFFFD");
    assertThat(decode(0xF8, 0x88, 0x80, 0x80, 0x80)).isEqualTo("\uFFFD".repeat(5));
    assertThat(decode(0xC3, 0xC3, 0xA9)).isEqualTo("\uFFFDé");
  }

  private static boolean wellFormedBytes(int... values) {
    return Utf8.isWellFormed(atOne(values), 1, values.length);
  }

  @Test
  void wellFormedness() {
    assertThat(wellFormedBytes()).isTrue();
    assertThat(wellFormedBytes('a', 0xC3, 0xA9, 0xE6, 0x9D, 0xB1, 0xF0, 0x9F, 0x98, 0x80)).isTrue();
    assertThat(wellFormedBytes(0xF4, 0x8F, 0xBF, 0xBF)).isTrue();
    assertThat(wellFormedBytes(0xED, 0x9F, 0xBF)).isTrue(); // U+D7FF, the last before the surrogates
    assertThat(wellFormedBytes(0xED, 0xA0, 0x80)).as("a surrogate").isFalse();
    assertThat(wellFormedBytes(0xC0, 0x80)).as("overlong").isFalse();
    assertThat(wellFormedBytes(0xE0, 0x9F, 0xBF)).as("overlong").isFalse();
    assertThat(wellFormedBytes(0xF0, 0x8F, 0xBF, 0xBF)).as("overlong").isFalse();
    assertThat(wellFormedBytes(0xF4, 0x90, 0x80, 0x80)).as("above U+10FFFF").isFalse();
    assertThat(wellFormedBytes('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 0xE2, 0x82)).as("cut off").isFalse();
    assertThat(wellFormedBytes(0x80)).isFalse();
    assertThat(wellFormedBytes('a', 'b', 'c', 'd', 'e', 'f', 'g', 0xFF)).as("in the last of eight").isFalse();
  }

  @Provide
  Arbitrary<byte[]> nearlyUtf8() {
    Arbitrary<byte[]> piece = Arbitraries.oneOf(
        Arbitraries.strings().ofMaxLength(12).map(s -> s.getBytes(StandardCharsets.UTF_8)),
        Arbitraries.strings().ascii().ofMinLength(8).ofMaxLength(20).map(s -> s.getBytes(StandardCharsets.UTF_8)),
        Arbitraries.bytes().array(byte[].class).ofMaxSize(4),
        Arbitraries.of(new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, new byte[] {(byte) 0xF4, (byte) 0x90},
            new byte[] {(byte) 0xE0, (byte) 0x9F}, new byte[] {(byte) 0xC1}, new byte[] {(byte) 0xF0}));
    return piece.list().ofMaxSize(5).map(parts -> {
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      parts.forEach(out::writeBytes);
      return out.toByteArray();
    });
  }

  /** Well-formed exactly when the JDK's strict decoder accepts the bytes, wherever the eight-byte steps fall. */
  @Property(tries = 2000)
  void wellFormedAsTheStrictDecoderSays(@ForAll("nearlyUtf8") byte[] bytes) {
    boolean strict;
    try {
      StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes));
      strict = true;
    } catch (CharacterCodingException e) {
      strict = false;
    }
    for (int shift = 0; shift < 3; shift++) {
      byte[] at = new byte[bytes.length + shift];
      System.arraycopy(bytes, 0, at, shift, bytes.length);
      assertThat(Utf8.isWellFormed(at, shift, bytes.length)).isEqualTo(strict);
    }
    if (strict) {
      assertThat(Utf8.decode(bytes, 0, bytes.length)).isEqualTo(new String(bytes, StandardCharsets.UTF_8));
    }
  }
}
