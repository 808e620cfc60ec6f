package io.promptfleet.common.config;

import io.promptfleet.common.job.Priority;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A tenant of the fleet: who a job belongs to is established by the fleet from the topic the job was read from
 * (Kafka ACLs on those topics are the authentication), never by the job's own {@code tenant} field alone. Each
 * tenant has its own job topics, its own reply-topic allow-list, a weight for fair sharing, whether it may use the
 * shared keys, and an optional daily budget. Names left out are filled in by {@link #resolved} from the fleet's
 * topic prefix, so a whole tenant can be one line: {@code acme: {}}.
 *
 * @param weight         its share of capacity among the tenants at one priority (default 1, > 0)
 * @param topics         the job topics that belong to it (default {@code <topics.prefix>.<tenant>.jobs.high},
 *                       {@code .normal}, {@code .low})
 * @param replyTopics    where its jobs may have replies written: exact names and prefixes ending in {@code *}
 *                       (default {@code <topic prefix>.replies*}, the topic prefix being {@code topics.prefix}
 *                       of this tenant); no two tenants' lists may overlap
 * @param defaultReplyTo reply topic of its jobs that set no reply_to (default: the first exact name of
 *                       {@code reply_topics}, else {@code <topic prefix>.replies} when the list allows it); must
 *                       match {@code reply_topics}
 * @param sharedKeys     whether it may use the keys that name no tenant (default true). Keys whose {@code tenant}
 *                       names it are dedicated to it either way: a route where it has keys of its own uses only
 *                       those. False: its jobs use only its own keys, and routes where it has none are skipped
 * @param budget         daily limits, or null for none
 */
public record TenantSettings(Integer weight, Topics topics, List<String> replyTopics, String defaultReplyTo,
    Boolean sharedKeys, Budget budget) {

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

  /**
   * The job topics of a tenant.
   *
   * @param prefix first part of the tenant's topic names (default {@code <topics.prefix>.<tenant>})
   * @param high   its high-priority job topic (default {@code <prefix>.jobs.high})
   * @param normal its normal-priority job topic (default {@code <prefix>.jobs.normal})
   * @param low    its low-priority job topic (default {@code <prefix>.jobs.low})
   */
  public record Topics(String prefix, String high, String normal, String low) {
    /** The topic of a priority. */
    public String of(Priority p) {
      return switch (p) {
        case HIGH -> high;
        case NORMAL -> normal;
        case LOW -> low;
      };
    }

    /** The three job topics, high first. */
    public List<String> all() {
      return List.of(high, normal, low);
    }
  }

  /**
   * A tenant's daily limits, counted per UTC day from the usage workers report (cost at the route's prices).
   *
   * @param tokensPerDay  prompt plus completion tokens per UTC day at most, or null for no limit
   * @param costPerDayUsd USD per UTC day at most (at the routes' prices; a route without prices costs nothing), or
   *                      null for no limit
   * @param onExceeded    what happens to a job that does not fit what is left: {@code reject} (default: a
   *                      {@code rejected} result with {@code budget_exceeded}) or {@code queue} (it waits for the
   *                      next UTC day, or until its deadline: {@code expired})
   */
  public record Budget(Long tokensPerDay, Double costPerDayUsd, String onExceeded) {
    public Budget {
      onExceeded = onExceeded == null ? "reject" : onExceeded.trim().toLowerCase(Locale.ROOT);
    }

    /** True when a job that does not fit waits rather than being rejected. */
    public boolean queues() {
      return "queue".equals(onExceeded);
    }

    void validate(String at) {
      ConfigException.require(tokensPerDay != null || costPerDayUsd != null,
          at + " must set tokens_per_day or cost_per_day_usd (or leave budget out)");
      ConfigException.require(tokensPerDay == null || tokensPerDay > 0, at + ".tokens_per_day must be > 0");
      ConfigException.require(costPerDayUsd == null || costPerDayUsd > 0 && Double.isFinite(costPerDayUsd),
          at + ".cost_per_day_usd must be > 0");
      ConfigException.require("reject".equals(onExceeded) || "queue".equals(onExceeded),
          at + ".on_exceeded must be reject or queue (got " + onExceeded + ")");
    }
  }

  public TenantSettings {
    weight = weight == null ? 1 : weight;
    replyTopics = replyTopics == null ? null : List.copyOf(replyTopics);
    sharedKeys = sharedKeys == null || sharedKeys;
  }

  /** Whether jobs of this tenant may have replies written to {@code topic}. */
  public boolean isReplyToAllowed(String topic) {
    return topic != null && matches(topic, replyTopics);
  }

  /**
   * This tenant with every name filled in: topics from {@code <fleet prefix>.<tenant>}, reply topics and the
   * default reply topic from the tenant's topic prefix. Checks its own fields; {@link FleetConfig#validated} checks
   * it against the other tenants and the fleet's topics.
   */
  TenantSettings resolved(String name, TopicSettings fleet) {
    String at = "tenants." + name;
    ConfigException.require(NAME.matcher(name).matches(),
        at + ": a tenant name may use letters, digits, '.', '_' and '-' (and starts with a letter or digit)");
    ConfigException.require(weight > 0, at + ".weight must be > 0 (got " + weight + ")");
    Topics t = topics == null ? new Topics(null, null, null, null) : topics;
    String prefix = blank(t.prefix()) ? fleet.prefix() + "." + name : t.prefix();
    Topics full = new Topics(prefix, or(t.high(), prefix + ".jobs.high"), or(t.normal(), prefix + ".jobs.normal"),
        or(t.low(), prefix + ".jobs.low"));
    ConfigException.require(full.all().stream().distinct().count() == 3,
        at + ".topics: high, normal and low must be three different topics (got " + full.all() + ")");
    List<String> replies = replyTopics == null ? List.of(prefix + ".replies*") : replyTopics;
    ConfigException.require(!replies.isEmpty(), at + ".reply_topics must list at least one topic or prefix*");
    for (String r : replies) {
      ConfigException.require(!blank(r) && !r.equals("*") && (r.indexOf('*') < 0 || r.indexOf('*') == r.length() - 1),
          at + ".reply_topics: '" + r + "' must be a topic name or a prefix ending in * (and not * alone)");
    }
    String defReply = defaultReplyTo;
    if (blank(defReply)) {
      defReply = replies.stream().filter(r -> !r.endsWith("*")).findFirst()
          .orElse(matches(prefix + ".replies", replies) ? prefix + ".replies" : null);
    }
    ConfigException.require(defReply == null || matches(defReply, replies),
        at + ".default_reply_to (" + defReply + ") must match " + at + ".reply_topics " + replies);
    if (budget != null) {
      budget.validate(at + ".budget");
    }
    return new TenantSettings(weight, full, replies, defReply, sharedKeys, budget);
  }

  /**
   * Checks the resolved tenants against each other and the fleet: job topics belong to one tenant and are no fleet
   * topic, no two allow-lists overlap, no allow-list admits a fleet or job topic or the fleet's default reply topic,
   * every key's tenant is a configured one, and a tenant without shared keys has keys of its own.
   */
  static void validateAll(FleetConfig config) {
    Map<String, TenantSettings> tenants = config.tenants();
    if (tenants.isEmpty()) {
      return;
    }
    TopicSettings fleet = config.topics();
    List<String> fleetTopics = new ArrayList<>(fleet.all());
    fleetTopics.add(fleet.assignmentsDlq());
    List<String[]> owned = new ArrayList<>(); // {topic, owner path}
    for (var e : tenants.entrySet()) {
      String at = "tenants." + e.getKey();
      for (Priority p : Priority.values()) {
        String topic = e.getValue().topics().of(p);
        String path = at + ".topics." + p.name().toLowerCase(Locale.ROOT);
        ConfigException.require(!fleetTopics.contains(topic),
            path + " (" + topic + ") is a topic of the fleet itself; a tenant needs topics of its own");
        for (String[] o : owned) {
          ConfigException.require(!o[0].equals(topic), path + " (" + topic + ") is also " + o[1]);
        }
        owned.add(new String[] {topic, path});
      }
    }
    List<String> others = new ArrayList<>(fleetTopics);
    others.remove(fleet.defaultReplyTo()); // checked below with its own message
    owned.forEach(o -> others.add(o[0]));
    List<String[]> patterns = new ArrayList<>(); // {pattern, owner}
    for (var e : tenants.entrySet()) {
      String at = "tenants." + e.getKey() + ".reply_topics";
      for (String r : e.getValue().replyTopics()) {
        for (String topic : others) {
          ConfigException.require(!matches(topic, List.of(r)),
              at + ": '" + r + "' admits " + topic + ", a job or fleet topic");
        }
        ConfigException.require(!matches(fleet.defaultReplyTo(), List.of(r)), at + ": '" + r
            + "' admits topics.default_reply_to (" + fleet.defaultReplyTo() + "), the shared reply topic");
        for (String[] p : patterns) {
          if (!p[1].equals(e.getKey())) {
            ConfigException.require(!overlap(r, p[0]), at + ": '" + r + "' overlaps '" + p[0] + "' of tenants."
                + p[1] + ".reply_topics (one tenant's replies must never go to another's topic)");
          }
        }
        patterns.add(new String[] {r, e.getKey()});
      }
    }
    for (var k : config.keys().entrySet()) {
      String t = k.getValue() == null ? null : k.getValue().tenant();
      ConfigException.require(t == null || tenants.containsKey(t), "keys." + k.getKey() + ".tenant names tenant "
          + t + ", which tenants does not define (defined: " + tenants.keySet() + ")");
    }
    for (var e : tenants.entrySet()) {
      if (!e.getValue().sharedKeys()) {
        boolean own = config.keys().values().stream().anyMatch(k -> k != null && e.getKey().equals(k.tenant()));
        ConfigException.require(own, "tenants." + e.getKey() + ".shared_keys is false, but no key names tenant "
            + e.getKey() + " (keys.NAME.tenant): its jobs could never run");
      }
    }
  }

  /** Whether a topic name matches an allow-list of exact names and prefixes ending in {@code *}. */
  static boolean matches(String topic, List<String> allow) {
    for (String a : allow) {
      if (a.endsWith("*") ? topic.startsWith(a.substring(0, a.length() - 1)) : topic.equals(a)) {
        return true;
      }
    }
    return false;
  }

  /** Whether some topic name matches both allow-list entries. */
  static boolean overlap(String a, String b) {
    boolean pa = a.endsWith("*");
    boolean pb = b.endsWith("*");
    if (pa && pb) {
      String x = a.substring(0, a.length() - 1);
      String y = b.substring(0, b.length() - 1);
      return x.startsWith(y) || y.startsWith(x);
    }
    if (pa) {
      return matches(b, List.of(a));
    }
    if (pb) {
      return matches(a, List.of(b));
    }
    return a.equals(b);
  }

  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }

  private static String or(String v, String d) {
    return blank(v) ? d : v;
  }
}
