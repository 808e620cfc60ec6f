package io.promptfleet.worker.stream.sse;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** WHATWG Encoding standard UTF-8 decoding: one U+FFFD per maximal invalid subpart. */
class Utf8Test {

  private static String decode(int... values) {
    byte[] bytes = new byte[values.length + 2];
    for (int i = 0; i < values.length; i++) {
      bytes[i + 1] = (byte) values[i];
    }
    return Utf8.decode(bytes, 1, values.length);
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
}
