package io.promptfleet.bench.fleet;

import com.sun.tools.attach.VirtualMachine;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/**
 * What a broker process was asked for: its request counts by API and the records written to it by topic, read from
 * its own meters ({@code kafka.network:type=RequestMetrics,name=RequestsPerSec} and
 * {@code kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec}, each a cumulative {@code Count}) over JMX, by
 * attaching to the broker's JVM (a child process of this one; the JDK's local management agent, nothing to
 * configure). Two snapshots give a window's requests and records, per job.
 */
final class BrokerRequests implements AutoCloseable {
  /** Cumulative counts: {@code request X} by API, {@code records T} by topic. */
  record Snapshot(Map<String, Long> counts) {
    Map<String, Long> since(Snapshot earlier) {
      Map<String, Long> d = new TreeMap<>();
      counts.forEach((k, v) -> d.put(k, v - earlier.counts.getOrDefault(k, 0L)));
      return d;
    }
  }

  /** Kafka meters a fetch twice: as {@code Fetch} and as one of these (from a consumer or a follower). */
  private static final Set<String> SUBSETS = Set.of("request FetchConsumer",
      "request FetchFollower");

  private final JMXConnector connector;
  private final MBeanServerConnection server;

  BrokerRequests(long pid) throws IOException {
    String address;
    try {
      VirtualMachine vm = VirtualMachine.attach(Long.toString(pid));
      try {
        address = vm.startLocalManagementAgent();
      } finally {
        vm.detach();
      }
    } catch (com.sun.tools.attach.AttachNotSupportedException e) {
      throw new IOException("cannot attach to the broker's JVM " + pid + ": " + e.getMessage(), e);
    }
    this.connector = JMXConnectorFactory.connect(new JMXServiceURL(address));
    this.server = connector.getMBeanServerConnection();
  }

  Snapshot snapshot() throws IOException {
    Map<String, Long> counts = new TreeMap<>();
    try {
      for (ObjectName n : server.queryNames(new ObjectName(
          "kafka.network:type=RequestMetrics,name=RequestsPerSec,*"), null)) {
        counts.merge("request " + n.getKeyProperty("request"), count(n), Long::sum);
      }
      for (ObjectName n : server.queryNames(new ObjectName(
          "kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec,*"), null)) {
        String topic = n.getKeyProperty("topic");
        if (topic != null) {
          counts.merge("records " + topic, count(n), Long::sum);
        }
      }
    } catch (javax.management.JMException e) {
      throw new IOException("reading the broker's meters failed: " + e, e);
    }
    return new Snapshot(counts);
  }

  private long count(ObjectName n) throws IOException, javax.management.JMException {
    return ((Number) server.getAttribute(n, "Count")).longValue();
  }

  /**
   * Markdown rows: each request API and topic with at least 0.05 per job, the most first, and the totals (a fetch
   * counted once, though Kafka also meters it as {@code FetchConsumer} or {@code FetchFollower}).
   */
  static List<String> table(Map<String, Long> window, long jobs) {
    List<String> t = new ArrayList<>();
    t.add("| broker, per job in the window | count |");
    t.add("|---|---|");
    for (String kind : List.of("request ", "records ")) {
      long total = 0;
      List<Map.Entry<String, Long>> rows = new ArrayList<>();
      for (var e : window.entrySet()) {
        if (e.getKey().startsWith(kind)) {
          if (!SUBSETS.contains(e.getKey())) {
            total += e.getValue();
          }
          if (e.getValue() >= 0.05 * jobs) {
            rows.add(e);
          }
        }
      }
      rows.sort((a, b) -> Long.compare(b.getValue(), a.getValue()));
      for (var e : rows) {
        t.add(String.format("| %s | %.2f |", e.getKey(), (double) e.getValue() / jobs));
      }
      t.add(String.format("| **%s(all)** | **%.2f** |", kind, (double) total / jobs));
    }
    return t;
  }

  @Override
  public void close() throws IOException {
    connector.close();
  }
}
