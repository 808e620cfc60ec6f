package io.promptfleet.dispatcher.testing;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.Property;

/**
 * Captures the lines the test JVM logs (at the levels log4j2-test.xml lets through) with their logging context, until
 * closed. Thread-safe.
 */
public final class LogCapture implements AutoCloseable {

  /** One logged line: its logger, the formatted message and the MDC at the time. */
  public record Line(String logger, String message, Map<String, String> context) {}

  private final List<Line> lines = new CopyOnWriteArrayList<>();
  private final LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
  private final AbstractAppender appender;

  public LogCapture() {
    appender = new AbstractAppender("capture-" + System.identityHashCode(this), null, null, true,
        Property.EMPTY_ARRAY) {
      @Override
      public void append(LogEvent e) {
        lines.add(new Line(e.getLoggerName(), e.getMessage().getFormattedMessage(), e.getContextData().toMap()));
      }
    };
    appender.start();
    Configuration config = ctx.getConfiguration();
    config.getRootLogger().addAppender(appender, Level.ALL, null);
    ctx.updateLoggers();
  }

  /** The lines whose message contains {@code text}. */
  public List<Line> containing(String text) {
    return lines.stream().filter(l -> l.message().contains(text)).toList();
  }

  @Override
  public void close() {
    ctx.getConfiguration().getRootLogger().removeAppender(appender.getName());
    ctx.updateLoggers();
    appender.stop();
  }
}
