package io.promptfleet.dispatcher.capacity;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.JobParser;
import io.promptfleet.common.codec.Json;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.job.Job;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.function.Consumer;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.junit.jupiter.api.Test;

class TokenEstimatorTest {
  private static final TokenEstimator ESTIMATOR = new TokenEstimator();
  private static final JobParser PARSER = new JobParser(64 << 20);
  /** Every default: images of unknown size 1,445 tokens, attachments 4,096. */
  private static final RouteSettings DEFAULTS = route(null, null);

  private static RouteSettings route(Integer imageTokens, Integer attachmentTokens) {
    return new RouteSettings("p", "m", null, null, null, null, null, null, null, null, null, null, imageTokens,
        attachmentTokens);
  }

  /** A job as a producer writes it, through the real parser; {@code shape} adds to the job object. */
  private static Job job(Consumer<ObjectNode> shape) {
    ObjectNode o = Json.mapper().createObjectNode();
    o.put("job_id", "j").put("model", "m");
    shape.accept(o);
    var parsed = PARSER.parse(Json.bytes(o));
    assertThat(parsed).isInstanceOf(JobParser.Accepted.class);
    return ((JobParser.Accepted) parsed).job();
  }

  /** A user message with the text "Describe this." and the given extra content parts. */
  private static Job userParts(Consumer<ArrayNode> parts) {
    return job(o -> {
      ArrayNode content = o.putArray("messages").addObject().put("role", "user").putArray("content");
      content.addObject().put("type", "text").put("text", "Describe this.");
      parts.accept(content);
    });
  }

  private static final Job BASELINE = userParts(p -> { });

  private static ObjectNode image(ArrayNode parts, String url, String detail) {
    ObjectNode img = parts.addObject().put("type", "image_url").putObject("image_url").put("url", url);
    if (detail != null) {
      img.put("detail", detail);
    }
    return img;
  }

  /** What the parts add to the baseline's estimate on the default route. */
  private static long added(Consumer<ArrayNode> parts) {
    return ESTIMATOR.estimate(userParts(parts)).forRoute(DEFAULTS) - ESTIMATOR.estimate(BASELINE).forRoute(DEFAULTS);
  }

  private static String dataUrl(String mime, byte[] bytes) {
    return "data:" + mime + ";base64," + Base64.getEncoder().encodeToString(bytes);
  }

  private static byte[] imageIo(String format, int w, int h, int type) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertThat(ImageIO.write(new BufferedImage(w, h, type), format, out)).as(format + " writer").isTrue();
    return out.toByteArray();
  }

  private static byte[] png(int w, int h) throws IOException {
    return imageIo("png", w, h, BufferedImage.TYPE_BYTE_BINARY);
  }

  private static byte[] progressiveJpeg(int w, int h) throws IOException {
    ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
    ImageWriteParam param = writer.getDefaultWriteParam();
    param.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (var ios = new MemoryCacheImageOutputStream(out)) {
      writer.setOutput(ios);
      writer.write(null, new IIOImage(new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY), null, null), param);
    } finally {
      writer.dispose();
    }
    return out.toByteArray();
  }

  /** The first 30 bytes of a WebP file: RIFF header and the first chunk's header and payload start. */
  private static ByteBuffer webpHead(String chunk) {
    ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
    b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(56).put("WEBP".getBytes(StandardCharsets.US_ASCII));
    b.put(chunk.getBytes(StandardCharsets.US_ASCII)).putInt(36);
    return b;
  }

  private static byte[] webpLossy(int w, int h) {
    ByteBuffer b = webpHead("VP8 ");
    b.put(new byte[] {0x50, 0x02, 0x00}); // frame tag of a key frame
    b.put(new byte[] {(byte) 0x9D, 0x01, 0x2A}).putShort((short) w).putShort((short) h);
    return b.array();
  }

  private static byte[] webpLossless(int w, int h) {
    ByteBuffer b = webpHead("VP8L");
    b.put((byte) 0x2F).putInt((w - 1) | (h - 1) << 14); // version 0, no alpha
    return b.array();
  }

  private static byte[] webpExtended(int w, int h) {
    ByteBuffer b = webpHead("VP8X");
    b.put(new byte[] {0x10, 0, 0, 0}); // flags (alpha), reserved
    b.put((byte) (w - 1)).put((byte) ((w - 1) >> 8)).put((byte) ((w - 1) >> 16));
    b.put((byte) (h - 1)).put((byte) ((h - 1) >> 8)).put((byte) ((h - 1) >> 16));
    return b.array();
  }

  @Test
  void shouldApplyOpenAisTileRule() {
    assertThat(TokenEstimator.imageTokens(1024, 1024, false)).as("768x768: 4 tiles").isEqualTo(765);
    assertThat(TokenEstimator.imageTokens(2048, 4096, false)).as("1024x2048, then 768x1536: 6 tiles")
        .isEqualTo(1105);
    assertThat(TokenEstimator.imageTokens(4096, 8192, false)).isEqualTo(1105);
    assertThat(TokenEstimator.imageTokens(512, 512, false)).as("small images are never upscaled").isEqualTo(255);
    assertThat(TokenEstimator.imageTokens(100, 50, false)).isEqualTo(255);
    assertThat(TokenEstimator.imageTokens(3000, 1000, false)).as("2048x683: 8 tiles").isEqualTo(1445);
    assertThat(TokenEstimator.imageTokens(1, 100_000, false)).isGreaterThanOrEqualTo(255);
    assertThat(TokenEstimator.imageTokens(4096, 4096, true)).isEqualTo(85);
  }

  @Test
  void shouldReadTheSizeOfRealPngJpegAndGifImages() throws IOException {
    byte[] png = png(1024, 1024);
    assertThat(ImageSize.ofDataUrl(dataUrl("image/png", png))).isEqualTo(new ImageSize.Dims(1024, 1024));
    assertThat(added(p -> image(p, dataUrl("image/png", png), "high"))).isEqualTo(765);
    assertThat(added(p -> image(p, dataUrl("image/png", png), "auto"))).isEqualTo(765);
    assertThat(added(p -> image(p, dataUrl("image/png", png), null))).isEqualTo(765);
    assertThat(added(p -> image(p, dataUrl("image/png", png), "low"))).isEqualTo(85);

    byte[] tall = png(2048, 4096);
    assertThat(added(p -> image(p, dataUrl("image/png", tall), "high"))).isEqualTo(1105);

    byte[] jpeg = imageIo("jpeg", 1024, 1024, BufferedImage.TYPE_BYTE_GRAY);
    assertThat(ImageSize.ofDataUrl(dataUrl("image/jpeg", jpeg))).as("baseline JPEG (SOF0) after JFIF and tables")
        .isEqualTo(new ImageSize.Dims(1024, 1024));
    assertThat(added(p -> image(p, dataUrl("image/jpeg", jpeg), null))).isEqualTo(765);
    byte[] progressive = progressiveJpeg(1500, 700);
    assertThat(ImageSize.ofDataUrl(dataUrl("image/jpeg", progressive))).as("progressive JPEG (SOF2)")
        .isEqualTo(new ImageSize.Dims(1500, 700));
    assertThat(added(p -> image(p, dataUrl("image/jpeg", progressive), "high"))).as("3x2 tiles").isEqualTo(1105);

    byte[] gif = imageIo("gif", 300, 200, BufferedImage.TYPE_BYTE_INDEXED);
    assertThat(ImageSize.ofDataUrl(dataUrl("image/gif", gif))).isEqualTo(new ImageSize.Dims(300, 200));
    assertThat(added(p -> image(p, dataUrl("image/gif", gif), "high"))).isEqualTo(255);
  }

  @Test
  void shouldReadTheSizeOfEachKindOfWebp() {
    assertThat(ImageSize.ofDataUrl(dataUrl("image/webp", webpLossy(640, 480))))
        .isEqualTo(new ImageSize.Dims(640, 480));
    assertThat(ImageSize.ofDataUrl(dataUrl("image/webp", webpLossless(400, 300))))
        .isEqualTo(new ImageSize.Dims(400, 300));
    assertThat(ImageSize.ofDataUrl(dataUrl("image/webp", webpExtended(3000, 1000))))
        .isEqualTo(new ImageSize.Dims(3000, 1000));
    assertThat(added(p -> image(p, dataUrl("image/webp", webpLossy(640, 480)), "high"))).isEqualTo(425);
    assertThat(added(p -> image(p, dataUrl("image/webp", webpLossless(400, 300)), null))).isEqualTo(255);
    assertThat(added(p -> image(p, dataUrl("image/webp", webpExtended(3000, 1000)), "auto"))).isEqualTo(1445);
  }

  @Test
  void shouldToleratePlainAndBrokenDataUrls() throws IOException {
    String wrapped = "data:image/png;base64,"
        + Base64.getEncoder().encodeToString(png(64, 64)).replaceAll("(.{20})", "$1\r\n");
    assertThat(ImageSize.ofDataUrl(wrapped)).as("line breaks in the base64").isEqualTo(new ImageSize.Dims(64, 64));
    assertThat(ImageSize.ofDataUrl("data:image/png;base64,AAAA")).isNull();
    assertThat(ImageSize.ofDataUrl("data:image/png;base64,!!!not base64")).isNull();
    assertThat(ImageSize.ofDataUrl("data:image/svg+xml;base64," + Base64.getEncoder().encodeToString(
        "<svg xmlns='http://www.w3.org/2000/svg'/>".getBytes(StandardCharsets.UTF_8)))).isNull();
    assertThat(ImageSize.ofDataUrl("data:text/plain;base64,aGVsbG8gd29ybGQgaGVsbG8=")).isNull();
    assertThat(ImageSize.ofDataUrl("https://example.com/cat.png")).isNull();
    assertThat(ImageSize.ofDataUrl(null)).isNull();
    assertThat(added(p -> image(p, "data:image/png;base64,AAAA", "high"))).as("unreadable: the route's estimate")
        .isEqualTo(1445);
  }

  @Test
  void shouldUseTheRoutesEstimateForImagesOfUnknownSizeAndForAttachments() {
    Job job = userParts(p -> {
      image(p, "https://example.com/cat.png", null);
      image(p, "https://example.com/dog.png", "low");
      p.addObject().put("type", "input_audio").putObject("input_audio").put("data", "AAAA").put("format", "wav");
      p.addObject().put("type", "file").putObject("file").put("file_data", "data:application/pdf;base64,AAAA");
    });
    TokenEstimator.Estimate e = ESTIMATOR.estimate(job);
    long base = ESTIMATOR.estimate(BASELINE).fixedTokens();
    assertThat(e.unsizedImages()).isEqualTo(1);
    assertThat(e.attachments()).isEqualTo(2);
    assertThat(e.fixedTokens()).as("the low-detail remote image is 85 whatever its size").isEqualTo(base + 85);
    RouteSettings small = route(500, 1_000);
    RouteSettings large = route(2_000, 8_000);
    assertThat(e.forRoute(DEFAULTS)).isEqualTo(base + 85 + 1_445 + 2 * 4_096);
    assertThat(e.forRoute(small)).isEqualTo(base + 85 + 500 + 2 * 1_000);
    assertThat(e.forRoute(large)).isEqualTo(base + 85 + 2_000 + 2 * 8_000);
    assertThat(e.max(List.of(small, large, DEFAULTS))).isEqualTo(e.forRoute(large));
    assertThat(ESTIMATOR.promptTokens(job, small)).isEqualTo(e.forRoute(small));
  }

  @Test
  void shouldCountOtherPartTypesByTheirJsonText() {
    assertThat(added(p -> p.addObject().put("type", "video_url").putObject("video_url")
        .put("url", "https://example.com/clip.mp4"))).isGreaterThan(5);
    assertThat(added(p -> p.addObject().put("type", "x"))).as("never zero").isPositive();
  }

  @Test
  void shouldCountToolsFunctionsAndJsonSchemas() {
    Job plain = job(o -> o.putArray("messages").addObject().put("role", "user").put("content", "Weather in Paris?"));
    long base = ESTIMATOR.estimate(plain).forRoute(DEFAULTS);
    Job withTools = job(o -> {
      o.putArray("messages").addObject().put("role", "user").put("content", "Weather in Paris?");
      ObjectNode fn = o.putArray("tools").addObject().put("type", "function").putObject("function");
      fn.put("name", "get_weather").put("description", "The current weather in a city, in degrees Celsius");
      ObjectNode params = fn.putObject("parameters").put("type", "object");
      params.putObject("properties").putObject("city").put("type", "string").put("description", "the city");
      params.putArray("required").add("city");
    });
    long tools = ESTIMATOR.estimate(withTools).forRoute(DEFAULTS) - base;
    assertThat(tools).as("the tool definition's JSON").isGreaterThan(30);

    Job withFunctions = job(o -> {
      o.putArray("messages").addObject().put("role", "user").put("content", "Weather in Paris?");
      o.putArray("functions").addObject().put("name", "get_weather").put("description", "The weather in a city");
    });
    assertThat(ESTIMATOR.estimate(withFunctions).forRoute(DEFAULTS)).isGreaterThan(base + 8);

    Job withSchema = job(o -> {
      o.putArray("messages").addObject().put("role", "user").put("content", "Weather in Paris?");
      ObjectNode rf = o.putObject("response_format").put("type", "json_schema");
      ObjectNode schema = rf.putObject("json_schema").put("name", "weather").put("strict", true)
          .putObject("schema").put("type", "object");
      schema.putObject("properties").putObject("temperature_celsius").put("type", "number");
    });
    assertThat(ESTIMATOR.estimate(withSchema).forRoute(DEFAULTS)).isGreaterThan(base + 15);

    Job jsonObject = job(o -> {
      o.putArray("messages").addObject().put("role", "user").put("content", "Weather in Paris?");
      o.putObject("response_format").put("type", "json_object");
      o.put("temperature", 0.2);
    });
    assertThat(ESTIMATOR.estimate(jsonObject).forRoute(DEFAULTS)).as("sampling params are not prompt")
        .isEqualTo(base);
  }

  @Test
  void shouldCountToolCallsAndOtherMessageFields() {
    Job question = job(o -> o.putArray("messages").addObject().put("role", "user").put("content", "Weather?"));
    Job withCall = job(o -> {
      ArrayNode m = o.putArray("messages");
      m.addObject().put("role", "user").put("content", "Weather?");
      ObjectNode call = m.addObject().put("role", "assistant").putArray("tool_calls").addObject()
          .put("id", "call_1").put("type", "function");
      call.putObject("function").put("name", "get_weather")
          .put("arguments", "{\"city\":\"Paris\",\"unit\":\"celsius\",\"days\":3}");
      m.addObject().put("role", "tool").put("tool_call_id", "call_1").put("content", "21");
    });
    long q = ESTIMATOR.estimate(question).fixedTokens();
    long c = ESTIMATOR.estimate(withCall).fixedTokens();
    assertThat(c - q).as("two more messages, the call's name and arguments, the tool's answer").isGreaterThan(
        2 * 4 + 15);

    Job legacy = job(o -> {
      ArrayNode m = o.putArray("messages");
      m.addObject().put("role", "user").put("content", "Weather?");
      m.addObject().put("role", "assistant").putObject("function_call").put("name", "get_weather")
          .put("arguments", "{\"city\":\"Paris\",\"unit\":\"celsius\",\"days\":3}");
    });
    assertThat(legacy.messages().get(1).extra()).containsKey("function_call");
    assertThat(ESTIMATOR.estimate(legacy).fixedTokens() - q).as("a legacy function_call in extra")
        .isGreaterThan(4 + 15);
  }

  @Test
  void shouldKeepPlainTextJobsAsBefore() {
    Job plain = job(o -> {
      ArrayNode m = o.putArray("messages");
      m.addObject().put("role", "system").put("content", "You are terse.");
      m.addObject().put("role", "user").put("content", "hello world").put("name", "ann");
    });
    TokenEstimator.Estimate e = ESTIMATOR.estimate(plain);
    assertThat(e.unsizedImages()).isZero();
    assertThat(e.attachments()).isZero();
    var enc = com.knuddels.jtokkit.Encodings.newLazyEncodingRegistry()
        .getEncoding(com.knuddels.jtokkit.api.EncodingType.O200K_BASE);
    long expected = 3 + 4 + enc.countTokensOrdinary("You are terse.") + 4 + enc.countTokensOrdinary("hello world")
        + enc.countTokensOrdinary("ann");
    assertThat(e.forRoute(DEFAULTS)).isEqualTo(expected);
    assertThat(e.forRoute(route(1, 1))).as("no route dependence").isEqualTo(expected);
  }
}
