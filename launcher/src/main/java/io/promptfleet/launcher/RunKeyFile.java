package io.promptfleet.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.promptfleet.common.codec.Json;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The run key of a {@code promptfleet batch} run, kept beside its output in {@code OUTPUT.run} from before the run
 * produces its first job until it has written every line. A run interrupted before its first output line (which
 * carries the key too) resumes with this key instead of a new one, so the jobs it had produced keep their ids and
 * are not run (and paid) twice.
 *
 * <p>Written atomically (a temporary file, flushed to disk, renamed over the old one, the directory flushed), so it
 * is either absent or whole after a crash at any moment. Read only while the output exists: deleting the output (or
 * writing to a new one) runs the input again with a new key. Removed once the run completed, after the output is
 * flushed to disk: the output's lines then carry the key. The file is one JSON object: {@code run_key} and, for a
 * reader, the {@code input} it was made for.
 */
final class RunKeyFile {
  private final Path path;

  /** The run key file of {@code output}. */
  RunKeyFile(Path output) {
    this.path = output.resolveSibling(output.getFileName() + ".run");
  }

  Path path() {
    return path;
  }

  /** The key kept, or null when there is no file. A file without a valid key stops the run, naming it. */
  String read() throws IOException {
    if (!Files.exists(path)) {
      return null;
    }
    JsonNode n;
    try {
      n = Json.mapper().readTree(Files.readString(path, StandardCharsets.UTF_8));
    } catch (IOException e) {
      n = null;
    }
    String key = n == null ? "" : n.path("run_key").asText("");
    if (key.isEmpty() || !key.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
      throw new IllegalArgumentException(path + " holds no run key: it is written by promptfleet batch to resume a "
          + "run with the same job ids. Delete it (and the output) to run the input again, or restore it.");
    }
    return key;
  }

  /** Keeps {@code runKey} durably: on disk before this returns. */
  void write(String runKey, Path input) throws IOException {
    ObjectNode o = Json.mapper().createObjectNode();
    o.put("run_key", runKey);
    o.put("input", input.toAbsolutePath().normalize().toString());
    Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
    try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      c.write(ByteBuffer.wrap((Json.string(o) + "\n").getBytes(StandardCharsets.UTF_8)));
      c.force(true);
    }
    try {
      Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING);
    }
    forceDirectory();
  }

  /** The run wrote every line: flushes {@code output} to disk, then removes the file. */
  void completed(Path output) throws IOException {
    try (FileChannel c = FileChannel.open(output, StandardOpenOption.WRITE)) {
      c.force(true);
    }
    Files.deleteIfExists(path);
  }

  /** Flushes the directory entry of the rename (Linux, macOS; other systems cannot open a directory: skipped). */
  private void forceDirectory() {
    Path dir = path.toAbsolutePath().getParent();
    try (FileChannel c = FileChannel.open(dir, StandardOpenOption.READ)) {
      c.force(true);
    } catch (IOException | UnsupportedOperationException e) {
      // the file is written and renamed; only its survival of a power loss is less certain here
    }
  }
}
