package io.promptfleet.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.codec.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Set;

/**
 * Where a {@code promptfleet batch} run starts, read from its output file: the custom_ids already answered there,
 * and the run key its job ids carry ({@code batch-KEY-custom_id}).
 *
 * <p>A run to a new output (or after deleting the old one) is a fresh run with a fresh random key, so running a file
 * again gives its lines new job ids and they run again: the fleet drops a job id it admitted within
 * {@code dispatcher.dedupe_window_ms} (no run, no result), so reused ids would never be answered. A run to an
 * existing output resumes the run that wrote it, so the lines that run had sent keep their ids and are not run (and
 * paid) twice. Its key, first found first taken:
 * <ol>
 *   <li>the key of the output's last line that carries one (every output line's {@code id} is {@code batch_req_} +
 *       its job id);</li>
 *   <li>the key kept in the output's {@link RunKeyFile} ({@code OUTPUT.run}), written before the run's first job
 *       and removed when it completed: a run interrupted before its first whole output line;</li>
 *   <li>for an output with lines but neither (written by a version whose error lines did not carry the job id and
 *       that kept no key file), that version's key, derived from the input's path.</li>
 * </ol>
 * An existing output with no line and no key file is a fresh run (no job of it was produced).
 *
 * @param answered the custom_ids that have a line in the output
 * @param runKey   the key of this run's job ids
 * @param resumed  whether this run resumes an earlier one (the output has lines, or a key file)
 */
record ResumePoint(Set<String> answered, String runKey, boolean resumed) {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String ID_PREFIX = "batch_req_batch-";

  /** Reads {@code output} and its key file (no output: a fresh run). */
  static ResumePoint of(Path output, Path input) throws IOException {
    Set<String> ids = new HashSet<>();
    String key = null;
    boolean lines = false;
    if (Files.exists(output)) {
      try (BufferedReader r = Files.newBufferedReader(output, StandardCharsets.UTF_8)) {
        String line;
        while ((line = r.readLine()) != null) {
          if (line.isBlank()) {
            continue;
          }
          lines = true;
          JsonNode n;
          try {
            n = Json.mapper().readTree(line);
          } catch (IOException e) {
            continue; // a line cut by an interrupted run: that custom_id runs again
          }
          if (n != null && n.hasNonNull("custom_id")) {
            ids.add(n.get("custom_id").asText());
          }
          String k = n == null ? null : keyOf(n.path("id").asText(""));
          key = k != null ? k : key;
        }
      }
    }
    boolean resumed = lines;
    if (key == null && Files.exists(output)) {
      key = new RunKeyFile(output).read();
      resumed |= key != null;
    }
    if (key == null) {
      key = lines ? legacyKey(input) : freshKey();
    }
    return new ResumePoint(ids, key, resumed);
  }

  /** The run key in an output line's {@code id} ({@code batch_req_batch-KEY-...}), or null. */
  static String keyOf(String outputLineId) {
    if (!outputLineId.startsWith(ID_PREFIX)) {
      return null;
    }
    int end = outputLineId.indexOf('-', ID_PREFIX.length());
    if (end <= ID_PREFIX.length()) {
      return null;
    }
    String key = outputLineId.substring(ID_PREFIX.length(), end);
    return key.chars().allMatch(c -> Character.digit(c, 16) >= 0) ? key : null;
  }

  /** A new run's key: 16 random hex digits. */
  static String freshKey() {
    byte[] b = new byte[8];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  /** The key earlier versions gave every run of an input file: a hash of its absolute path. */
  static String legacyKey(Path input) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(input.toAbsolutePath().normalize().toString().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(md.digest()).substring(0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
