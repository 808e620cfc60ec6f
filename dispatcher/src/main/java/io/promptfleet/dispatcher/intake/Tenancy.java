package io.promptfleet.dispatcher.intake;

import io.promptfleet.common.config.FleetConfig;
import io.promptfleet.common.config.KeySettings;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.config.TenantSettings;
import io.promptfleet.common.job.ErrorCodes;
import java.util.List;

/**
 * Decides which tenant a job belongs to and where its replies may go. With {@code tenants} configured, the fleet
 * establishes the tenant from the job topic the record was read from (Kafka ACLs on that topic are the
 * authentication); the job's own {@code tenant} field may only confirm it:
 *
 * <ul>
 *   <li>a job on tenant T's topic has tenant T; naming another tenant is {@code tenant_mismatch};</li>
 *   <li>a job on the shared topics has no tenant; naming one is {@code tenant_not_allowed};</li>
 *   <li>a job of tenant T may reply only to T's {@code reply_topics}; a job without a tenant only to
 *       {@code topics.reply_to_allow} minus every tenant's {@code reply_topics} ({@code reply_to_not_allowed});</li>
 *   <li>a tenant with {@code shared_keys: false} is served only by routes where it has keys of its own.</li>
 * </ul>
 *
 * Without {@code tenants} it decides as before tenants existed: the job's {@code tenant} field selects its dedicated
 * keys, and {@code topics.reply_to_allow} is the one allow-list. Immutable, thread-safe.
 */
public final class Tenancy {

  /** Why a job's tenant is refused: the error code and a message naming the tenants. */
  public record Refusal(String code, String message) {}

  private final FleetConfig config;

  public Tenancy(FleetConfig config) {
    this.config = config;
  }

  /** True when tenants are configured (the fleet establishes tenants). */
  public boolean enabled() {
    return !config.tenants().isEmpty();
  }

  /** The tenant a record of {@code topic} belongs to, or null for a shared topic (or without tenants). */
  public String tenantOfTopic(String topic) {
    return topic == null ? null : config.tenantOfTopic(topic);
  }

  /**
   * Why a job read with the established tenant {@code established} that names {@code named} in its own field is
   * refused, or null when it is not. Without tenants configured nothing is refused.
   */
  public Refusal refusal(String established, String named) {
    if (!enabled() || named == null || named.equals(established)) {
      return null;
    }
    if (established != null) {
      return new Refusal(ErrorCodes.TENANT_MISMATCH, "the job names tenant " + named + " but was produced to "
          + "a topic of tenant " + established + "; a job's tenant is the one whose topic it was produced to");
    }
    TenantSettings t = config.tenants().get(named);
    if (t != null) {
      return new Refusal(ErrorCodes.TENANT_NOT_ALLOWED, "the job names tenant " + named + " but was produced to "
          + "a shared job topic; jobs of tenant " + named + " must be produced to its topics " + t.topics().all());
    }
    return new Refusal(ErrorCodes.TENANT_NOT_ALLOWED, "the job names tenant " + named + ", which is not configured "
        + "(tenants: " + config.tenants().keySet() + "); a job on the shared topics names no tenant");
  }

  /** The reply topic of a job of {@code tenant} that set none (null: it has none, the job cannot be answered). */
  public String defaultReplyTo(String tenant) {
    if (tenant != null && enabled()) {
      TenantSettings t = config.tenants().get(tenant);
      return t == null ? null : t.defaultReplyTo();
    }
    return config.topics().defaultReplyTo();
  }

  /** Whether a job of {@code tenant} (null: none) may have replies written to {@code topic}. */
  public boolean replyAllowed(String tenant, String topic) {
    return whyReplyNotAllowed(tenant, topic) == null;
  }

  /**
   * Why a job of {@code tenant} (null: none) may not have replies written to {@code topic}, starting with the
   * error code; null when it may.
   */
  public String whyReplyNotAllowed(String tenant, String topic) {
    String code = ErrorCodes.REPLY_TO_NOT_ALLOWED + ": ";
    if (topic == null) {
      return code + "the job sets no reply_to and " + (tenant == null ? "topics.default_reply_to is unset"
          : "tenant " + tenant + " has no default_reply_to");
    }
    if (tenant != null && enabled()) {
      TenantSettings t = config.tenants().get(tenant);
      if (t == null) {
        return code + "tenant " + tenant + " is not configured";
      }
      return t.isReplyToAllowed(topic) ? null : code + "reply_to " + topic + " is not allowed for tenant " + tenant
          + " (tenants." + tenant + ".reply_topics: " + t.replyTopics() + ")";
    }
    if (!config.topics().isReplyToAllowed(topic)) {
      return code + "reply_to " + topic + " is not allowed (topics.reply_to_allow: "
          + config.topics().replyToAllow() + ")";
    }
    for (var e : config.tenants().entrySet()) {
      if (e.getValue().isReplyToAllowed(topic)) {
        return code + "reply_to " + topic + " belongs to tenant " + e.getKey() + " (tenants." + e.getKey()
            + ".reply_topics); only jobs from that tenant's topics may reply there";
      }
    }
    return null;
  }

  /**
   * The routes of a chain that may serve a job of {@code tenant}: all of them, except for a tenant with
   * {@code shared_keys: false}, which keeps only the routes where it has keys of its own (empty: none may).
   */
  public List<RouteSettings> routesFor(String tenant, List<RouteSettings> chain) {
    if (tenant == null || !enabled()) {
      return chain;
    }
    TenantSettings t = config.tenants().get(tenant);
    if (t == null || t.sharedKeys()) {
      return chain;
    }
    return chain.stream().filter(r -> config.keysOf(r).stream().anyMatch(k -> ownKey(k, tenant))).toList();
  }

  private boolean ownKey(String key, String tenant) {
    KeySettings s = config.keys().get(key);
    return s != null && tenant.equals(s.tenant());
  }
}
