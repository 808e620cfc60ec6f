package io.promptfleet.common.kafka;

import io.promptfleet.common.config.FleetConfig;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Creates the fleet's topics when missing and prepares the workers' share group. Blocking; call off event loops. */
public final class TopicAdmin {
  private static final Logger LOG = LoggerFactory.getLogger(TopicAdmin.class);

  private TopicAdmin() {}

  /** Creates every topic the configuration names (idempotent) and sets the share group to read from the start. */
  public static void ensureFleetTopics(FleetConfig config) {
    try (Admin admin = Admin.create(KafkaClients.admin(config.kafka(), "promptfleet-admin"))) {
      createTopics(admin, config.topics().all(), config.topics().partitions(), config.topics().replicationFactor());
      prepareShareGroup(admin, config.worker().shareGroup());
    }
  }

  public static void createTopics(Admin admin, Collection<String> names, int partitions, short replication) {
    try {
      Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
      List<NewTopic> missing = new ArrayList<>();
      for (String n : names) {
        if (!existing.contains(n)) {
          missing.add(new NewTopic(n, partitions, replication));
        }
      }
      if (missing.isEmpty()) {
        return;
      }
      for (var e : admin.createTopics(missing).values().entrySet()) {
        try {
          e.getValue().get(30, TimeUnit.SECONDS);
          LOG.info("created topic {} ({} partitions)", e.getKey(), partitions);
        } catch (ExecutionException ex) {
          if (!(ex.getCause() instanceof TopicExistsException)) {
            throw ex;
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating topics", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("cannot create topics " + names + ": " + e.getMessage(), e);
    }
  }

  /**
   * Prepares the workers' share group (idempotent):
   * <ul>
   *   <li>{@code share.auto.offset.reset=earliest}: share groups start at the latest offset by default, which
   *       would skip assignments written before the first worker joined;</li>
   *   <li>{@code share.isolation.level=read_committed}: assignments are written in the dispatcher's
   *       transactions, and one from an aborted or fenced transaction must never run.</li>
   * </ul>
   */
  public static void prepareShareGroup(Admin admin, String group) {
    ConfigResource r = new ConfigResource(ConfigResource.Type.GROUP, group);
    List<AlterConfigOp> ops = List.of(
        new AlterConfigOp(new ConfigEntry("share.auto.offset.reset", "earliest"), AlterConfigOp.OpType.SET),
        new AlterConfigOp(new ConfigEntry("share.isolation.level", "read_committed"), AlterConfigOp.OpType.SET));
    try {
      admin.incrementalAlterConfigs(Map.of(r, ops)).all().get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("cannot configure share group " + group + ": " + e.getMessage(), e);
    }
  }
}
