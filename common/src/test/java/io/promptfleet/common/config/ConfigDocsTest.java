package io.promptfleet.common.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import java.io.IOException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** docs/CONFIG.md documents every configuration key the records accept, so the reference cannot drift. */
class ConfigDocsTest {
  private static final PropertyNamingStrategies.SnakeCaseStrategy SNAKE = new PropertyNamingStrategies.SnakeCaseStrategy();

  @Test
  void shouldDocumentEveryConfigurationKey() throws IOException {
    String docs = Files.readString(Path.of("..", "docs", "CONFIG.md"));
    List<String> keys = new ArrayList<>();
    collect(FleetConfig.class, "", keys);
    assertThat(keys).hasSizeGreaterThan(30);
    for (String k : keys) {
      assertThat(docs).as("docs/CONFIG.md documents `%s`", k).contains("`" + k + "`");
    }
  }

  private static void collect(Class<?> type, String prefix, List<String> out) {
    for (RecordComponent c : type.getRecordComponents()) {
      String name = prefix + SNAKE.translate(c.getName());
      Class<?> t = c.getType();
      if (t.isRecord()) {
        collect(t, name + ".", out);
      } else if (Map.class.isAssignableFrom(t) && valueRecord(c.getGenericType()) != null) {
        collect(valueRecord(c.getGenericType()), name + ".NAME.", out);
      } else if (List.class.isAssignableFrom(t) && valueRecord(c.getGenericType()) != null) {
        collect(valueRecord(c.getGenericType()), name + "[].", out);
      } else {
        out.add(name);
      }
    }
  }

  private static Class<?> valueRecord(Type generic) {
    if (generic instanceof ParameterizedType p) {
      Type[] args = p.getActualTypeArguments();
      if (args[args.length - 1] instanceof Class<?> c && c.isRecord()) {
        return c;
      }
    }
    return null;
  }
}
