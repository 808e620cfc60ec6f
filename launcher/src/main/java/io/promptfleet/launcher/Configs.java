package io.promptfleet.launcher;

import io.promptfleet.common.config.ConfigLoader;
import io.promptfleet.common.config.FleetConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Properties;

/** Where the launcher's commands find their configuration. */
final class Configs {
  private Configs() {}

  /** The given file, or the configuration shipped in the jar (config/NAME) when none is given. */
  static FleetConfig load(Path file, String bundled) {
    if (file != null) {
      return ConfigLoader.load(file);
    }
    return ConfigLoader.parse(bundled(bundled), System.getenv(), System.getProperties());
  }

  static FleetConfig load(Path file, String bundled, Properties extra) {
    Properties props = new Properties();
    props.putAll(System.getProperties());
    props.putAll(extra);
    if (file != null) {
      return ConfigLoader.load(file, System.getenv(), props);
    }
    return ConfigLoader.parse(bundled(bundled), System.getenv(), props);
  }

  static String bundled(String name) {
    try (InputStream in = Configs.class.getResourceAsStream("/config/" + name)) {
      if (in == null) {
        throw new IllegalStateException("config/" + name + " is not in the launcher jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read config/" + name, e);
    }
  }
}
