package io.promptfleet.dispatcher.capacity;

import com.fasterxml.jackson.databind.JsonNode;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.job.ChatMessage;
import io.promptfleet.common.job.Job;
import java.util.List;
import java.util.Map;

/**
 * Estimates the prompt tokens of a job before dispatch, counting what the provider will read as prompt, so that
 * token-per-minute reservations hold. An estimate: the provider's reported usage corrects the reservation after the
 * attempt.
 *
 * <p>What is counted:
 * <ul>
 *   <li>text: a string content and the {@code text} of text parts, with the o200k_base BPE tokenizer (jtokkit), plus
 *       the chat format's overhead of 4 tokens per message and 3 for the reply;</li>
 *   <li>{@code image_url} parts by OpenAI's published tile rule (OpenAI API documentation, "Images and vision"
 *       guide, section "Calculating costs": https://platform.openai.com/docs/guides/vision#calculating-costs):
 *       detail {@code low} costs 85 tokens; detail {@code high}, {@code auto} or none scales the image to fit within
 *       2048&times;2048, then so that its shortest side is 768 (both only ever downscale), and costs
 *       85 + 170 per 512-pixel tile ({@code ceil(w/512) * ceil(h/512)} tiles; e.g. 1024&times;1024 is 765 tokens).
 *       The size is read from the header of an inline {@code data:image/...;base64,} image (PNG, JPEG, GIF, WebP;
 *       see {@link ImageSize}); an image whose size cannot be read (a remote URL) counts the route's
 *       {@link RouteSettings#imageTokens()};</li>
 *   <li>{@code input_audio} and {@code file} parts: the route's {@link RouteSettings#attachmentTokens()} each;</li>
 *   <li>any other part type: its JSON text, tokenised (at least 1 token);</li>
 *   <li>an assistant message's {@code tool_calls} (function names and arguments), every other message field the
 *       job passes through ({@link ChatMessage#extra()}: a legacy {@code function_call}, {@code refusal}, ...) and a
 *       message's {@code name};</li>
 *   <li>from the job's params: the {@code tools} and legacy {@code functions} definitions and a
 *       {@code response_format} of type {@code json_schema}, as their JSON text;</li>
 *   <li>an embeddings job ({@link Job#isEmbeddings()}): its {@code input} only, without chat overhead: each string
 *       tokenised, each token-id array by its length (the ids are the tokens the provider counts).</li>
 * </ul>
 *
 * <p>Per route: the estimate depends on the route only through the image and attachment estimates of parts whose
 * size is unknown, so {@link #estimate(Job)} tokenises a job once and returns an {@link Estimate} that is priced per
 * route by plain arithmetic ({@link Estimate#forRoute}). The dispatcher reserves, and checks
 * {@code max_prompt_tokens} with, the estimate of the route it actually tries; {@link Estimate#max} is the largest
 * estimate of a fallback chain.
 *
 * <p>Cheap for a plain text job: one tokenizer pass per message and three map lookups in the params. Thread-safe.
 */
public final class TokenEstimator {
  private static final int PER_MESSAGE = 4;
  private static final int PER_REPLY = 3;
  /** A low-detail image, and the base cost of every image under the tile rule. */
  static final int IMAGE_BASE = 85;
  static final int IMAGE_PER_TILE = 170;
  /** Loaded once per JVM (about 0.5 s and tens of MB); jtokkit's encodings are immutable and thread-safe. */
  private static final Encoding O200K = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.O200K_BASE);
  private final Encoding encoding = O200K;

  /**
   * The prompt estimate of a job, to be priced per route.
   *
   * @param fixedTokens   every token that does not depend on the route
   * @param unsizedImages image parts of high or auto detail whose size could not be read (remote URLs)
   * @param attachments   audio and file parts
   */
  public record Estimate(long fixedTokens, int unsizedImages, int attachments) {

    /** The estimate on one route: the fixed tokens plus the route's estimates of unsized images and attachments. */
    public long forRoute(RouteSettings route) {
      if (unsizedImages == 0 && attachments == 0) {
        return fixedTokens;
      }
      return fixedTokens + (long) unsizedImages * route.imageTokens() + (long) attachments * route.attachmentTokens();
    }

    /** The largest estimate over the routes (a fallback chain); the fixed tokens alone for none. */
    public long max(List<RouteSettings> routes) {
      long max = fixedTokens;
      for (RouteSettings r : routes) {
        max = Math.max(max, forRoute(r));
      }
      return max;
    }
  }

  /** The prompt estimate of the job's messages and of the params the model reads as prompt. */
  public Estimate estimate(Job job) {
    if (job.isEmbeddings()) {
      return new Estimate(input(job.input()), 0, 0);
    }
    Counter c = new Counter();
    c.tokens = PER_REPLY;
    for (ChatMessage m : job.messages()) {
      c.tokens += PER_MESSAGE;
      content(m.content(), c);
      if (m.name() != null) {
        c.tokens += count(m.name());
      }
      if (m.toolCalls() != null && !m.toolCalls().isNull()) {
        toolCalls(m.toolCalls(), c);
      }
      if (!m.extra().isEmpty()) {
        for (JsonNode v : m.extra().values()) {
          c.tokens += json(v);
        }
      }
    }
    Map<String, JsonNode> params = job.params();
    if (!params.isEmpty()) {
      c.tokens += json(params.get("tools"));
      c.tokens += json(params.get("functions"));
      JsonNode rf = params.get("response_format");
      if (rf != null && "json_schema".equals(rf.path("type").asText())) {
        c.tokens += json(rf.get("json_schema"));
      }
    }
    return new Estimate(c.tokens, c.unsizedImages, c.attachments);
  }

  /** The tokens of an embeddings input: a string, an array of strings, of token ids, or of token-id arrays. */
  private long input(JsonNode input) {
    if (input == null || input.isNull()) {
      return 0;
    }
    if (input.isTextual()) {
      return count(input.textValue());
    }
    long n = 0;
    for (JsonNode e : input) {
      if (e.isTextual()) {
        n += count(e.textValue());
      } else if (e.isArray()) {
        n += e.size();
      } else {
        n++; // one token id
      }
    }
    return n;
  }

  /** The job's prompt estimate on one route. */
  public long promptTokens(Job job, RouteSettings route) {
    return estimate(job).forRoute(route);
  }

  /**
   * The tokens of one image of the given size under OpenAI's tile rule (see the class comment).
   *
   * @param lowDetail true for {@code detail: low}: 85 whatever the size
   */
  public static int imageTokens(int width, int height, boolean lowDetail) {
    if (lowDetail) {
      return IMAGE_BASE;
    }
    double w = width;
    double h = height;
    if (w > 2048 || h > 2048) {
      double s = 2048 / Math.max(w, h);
      w = Math.rint(w * s);
      h = Math.rint(h * s);
    }
    if (Math.min(w, h) > 768) {
      double s = 768 / Math.min(w, h);
      w = Math.rint(w * s);
      h = Math.rint(h * s);
    }
    long tiles = (long) Math.ceil(Math.max(1, w) / 512) * (long) Math.ceil(Math.max(1, h) / 512);
    return (int) (IMAGE_BASE + IMAGE_PER_TILE * tiles);
  }

  private static final class Counter {
    long tokens;
    int unsizedImages;
    int attachments;
  }

  private void content(JsonNode content, Counter c) {
    if (content == null || content.isNull()) {
      return;
    }
    if (content.isTextual()) {
      c.tokens += count(content.textValue());
      return;
    }
    if (!content.isArray()) {
      c.tokens += json(content);
      return;
    }
    for (JsonNode part : content) {
      String type = part.path("type").asText();
      switch (type) {
        case "text" -> {
          JsonNode t = part.get("text");
          c.tokens += t != null && t.isTextual() ? count(t.textValue()) : json(part);
        }
        case "image_url" -> image(part.get("image_url"), c);
        case "input_audio", "file" -> c.attachments++;
        default -> c.tokens += json(part);
      }
    }
  }

  private static void image(JsonNode image, Counter c) {
    String url = null;
    boolean low = false;
    if (image != null && image.isTextual()) {
      url = image.textValue();
    } else if (image != null) {
      JsonNode u = image.get("url");
      url = u != null && u.isTextual() ? u.textValue() : null;
      low = "low".equals(image.path("detail").asText());
    }
    if (low) {
      c.tokens += IMAGE_BASE;
      return;
    }
    ImageSize.Dims dims = ImageSize.ofDataUrl(url);
    if (dims == null) {
      c.unsizedImages++;
    } else {
      c.tokens += imageTokens(dims.width(), dims.height(), false);
    }
  }

  private void toolCalls(JsonNode calls, Counter c) {
    if (!calls.isArray()) {
      c.tokens += json(calls);
      return;
    }
    for (JsonNode call : calls) {
      JsonNode fn = call.get("function");
      if (fn == null || !fn.isObject()) {
        c.tokens += json(call); // another kind of tool call: all of it
        continue;
      }
      c.tokens += json(fn.get("name"));
      c.tokens += json(fn.get("arguments"));
    }
  }

  /** Tokens of a value: a string's text, anything else's JSON text; 0 for none. */
  private long json(JsonNode v) {
    if (v == null || v.isNull() || v.isMissingNode()) {
      return 0;
    }
    if (v.isTextual()) {
      return count(v.textValue());
    }
    return Math.max(1, count(v.toString()));
  }

  private int count(String text) {
    return text.isEmpty() ? 0 : encoding.countTokensOrdinary(text);
  }
}
