package io.promptfleet.worker.stream.sse;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** A realistic OpenAI chat-completions stream: {@code chat.completion.chunk} events, then {@code [DONE]}. */
final class OpenAiStreamFixture {
  private static final String[] WORDS = {
    "The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".", " Café", " naïve",
    " 東京", " 😀", " \\\"quoted\\\"", " line\\nbreak", " and", " then", " some", " more", " text"
  };

  private OpenAiStreamFixture() {}

  /** The JSON payloads of {@code chunks} chunk events (role first, finish_reason last). */
  static List<String> chunkJsons(int chunks) {
    List<String> out = new ArrayList<>(chunks);
    String prefix = "{\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\"object\":\"chat.completion.chunk\","
        + "\"created\":1741569952,\"model\":\"gpt-4o-2024-08-06\",\"service_tier\":\"default\","
        + "\"system_fingerprint\":\"fp_eb9dce56a8\",\"choices\":[{\"index\":0,\"delta\":";
    for (int i = 0; i < chunks; i++) {
      String delta;
      String finish = "null";
      if (i == 0) {
        delta = "{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}";
      } else if (i == chunks - 1) {
        delta = "{}";
        finish = "\"stop\"";
      } else {
        delta = "{\"content\":\"" + WORDS[i % WORDS.length] + "\"}";
      }
      out.add(prefix + delta + ",\"logprobs\":null,\"finish_reason\":" + finish + "}],\"usage\":null}");
    }
    return out;
  }

  /** The bytes of each event as the provider writes it, ending with {@code data: [DONE]}. */
  static List<byte[]> eventBytes(int chunks) {
    List<byte[]> out = new ArrayList<>();
    for (String json : chunkJsons(chunks)) {
      out.add(("data: " + json + "\n\n").getBytes(StandardCharsets.UTF_8));
    }
    out.add("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
    return out;
  }

  /** The whole stream as one array. */
  static byte[] streamBytes(int chunks) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] event : eventBytes(chunks)) {
      out.writeBytes(event);
    }
    return out.toByteArray();
  }
}
