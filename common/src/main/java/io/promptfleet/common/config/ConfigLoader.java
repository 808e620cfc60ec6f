package io.promptfleet.common.config;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * Loads a {@link FleetConfig} from YAML, then applies overrides:
 * <ul>
 *   <li>environment variables {@code PROMPTFLEET__SECTION__KEY=value} (double underscores separate the path,
 *       case-insensitive), e.g. {@code PROMPTFLEET__KAFKA__BOOTSTRAP_SERVERS=broker:9092};</li>
 *   <li>Java system properties {@code promptfleet.section.key=value}, e.g.
 *       {@code -Dpromptfleet.worker.slots=2000}.</li>
 * </ul>
 * Unknown keys in the file are errors that name the key, so a typo never silently falls back to a default.
 */
public final class ConfigLoader {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
  private static final String ENV_PREFIX = "PROMPTFLEET__";
  private static final String PROP_PREFIX = "promptfleet.";

  private ConfigLoader() {}

  /** Loads the file and applies overrides from this process's environment and system properties. */
  public static FleetConfig load(Path file) {
    return load(file, System.getenv(), System.getProperties());
  }

  public static FleetConfig load(Path file, Map<String, String> env, Properties props) {
    JsonNode tree;
    try (InputStream in = Files.newInputStream(file)) {
      tree = YAML.readTree(in);
    } catch (IOException e) {
      throw new ConfigException("cannot read configuration " + file + ": " + e.getMessage(), e);
    }
    return fromTree(tree, env, props, file.toString());
  }

  /** Parses YAML text (for tests and embedded defaults), with the given overrides. */
  public static FleetConfig parse(String yaml, Map<String, String> env, Properties props) {
    try {
      return fromTree(YAML.readTree(yaml), env, props, "<string>");
    } catch (IOException e) {
      throw new ConfigException("cannot parse configuration: " + e.getMessage(), e);
    }
  }

  private static FleetConfig fromTree(JsonNode tree, Map<String, String> env, Properties props, String source) {
    ObjectNode root = tree instanceof ObjectNode o ? o : YAML.createObjectNode();
    env.forEach((k, v) -> {
      if (k.startsWith(ENV_PREFIX)) {
        override(root, k.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT).split("__"), v);
      }
    });
    for (String name : props.stringPropertyNames()) {
      if (name.startsWith(PROP_PREFIX)) {
        override(root, name.substring(PROP_PREFIX.length()).split("\\."), props.getProperty(name));
      }
    }
    try {
      return YAML.treeToValue(root, FleetConfig.class).validated();
    } catch (UnrecognizedPropertyException e) {
      throw new ConfigException(source + ": unknown key " + path(e) + " (known: " + e.getKnownPropertyIds() + ")", e);
    } catch (MismatchedInputException e) {
      throw new ConfigException(source + ": " + path(e) + " has the wrong type: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      Throwable c = e.getCause();
      if (c instanceof ConfigException ce) {
        String at = e instanceof com.fasterxml.jackson.databind.JsonMappingException m ? path(m) : "";
        throw new ConfigException(source + ": " + (at.isEmpty() ? "" : at + ": ") + ce.getMessage(), ce);
      }
      throw new ConfigException(source + ": " + e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      if (e.getCause() instanceof ConfigException ce) {
        throw new ConfigException(source + ": " + ce.getMessage(), ce);
      }
      throw new ConfigException(source + ": " + e.getMessage(), e);
    }
  }

  private static void override(ObjectNode root, String[] path, String value) {
    ObjectNode node = root;
    for (int i = 0; i < path.length - 1; i++) {
      JsonNode child = node.get(path[i]);
      if (!(child instanceof ObjectNode)) {
        child = node.putObject(path[i]);
      }
      node = (ObjectNode) child;
    }
    // Scalars stay text; Jackson coerces "2000" to an int where the record wants one.
    node.set(path[path.length - 1], TextNode.valueOf(value));
  }

  private static String path(com.fasterxml.jackson.databind.JsonMappingException e) {
    StringBuilder sb = new StringBuilder();
    for (var ref : e.getPath()) {
      if (ref.getFieldName() != null) {
        if (!sb.isEmpty()) {
          sb.append('.');
        }
        sb.append(ref.getFieldName());
      } else if (ref.getIndex() >= 0) {
        sb.append('[').append(ref.getIndex()).append(']');
      }
    }
    return sb.toString();
  }
}
