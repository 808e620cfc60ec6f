package io.promptfleet.kafka.embedded;

import java.io.StringWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.WriterAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.layout.PatternLayout;

/**
 * Test support: every log line of this JVM, with promptfleet and Vert.x at DEBUG, kept in memory so that an
 * integration test can check that a secret appears in none. {@link #close()} restores the levels the test's
 * log4j2-test.xml gave. Thread-safe for appenders; one capture at a time per JVM.
 */
public final class LogCapture implements AutoCloseable {
  private final StringWriter out = new StringWriter();
  private final WriterAppender appender;
  private final Map<String, Level> before = new LinkedHashMap<>();

  private LogCapture() {
    LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
    Configuration cfg = ctx.getConfiguration();
    appender = WriterAppender.newBuilder().setName("log-capture").setTarget(out)
        .setLayout(PatternLayout.newBuilder().withPattern("%d %-5level [%t] %c - %msg %throwable%n")
            .withConfiguration(cfg).build()).build();
    appender.start();
    cfg.addAppender(appender);
    cfg.getRootLogger().addAppender(appender, Level.ALL, null);
    ctx.updateLoggers();
    for (String logger : new String[] {"io.promptfleet", "io.promptfleet.worker", "io.promptfleet.dispatcher",
        "io.vertx"}) {
      before.put(logger, LogManager.getLogger(logger).getLevel());
      Configurator.setLevel(logger, Level.DEBUG);
    }
  }

  /** Starts capturing. */
  public static LogCapture start() {
    return new LogCapture();
  }

  /** Everything logged since {@link #start()}. */
  public String text() {
    return out.toString();
  }

  @Override
  public void close() {
    LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
    ctx.getConfiguration().getRootLogger().removeAppender(appender.getName());
    before.forEach(Configurator::setLevel);
    ctx.updateLoggers();
    appender.stop();
  }
}
