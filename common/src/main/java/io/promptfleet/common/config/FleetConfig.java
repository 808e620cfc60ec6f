package io.promptfleet.common.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The whole configuration of a fleet, as loaded by {@link ConfigLoader} from one YAML file. Immutable and
 * validated on construction: an invalid configuration throws a {@link ConfigException} naming the field.
 *
 * @param kafka      how to reach Kafka
 * @param topics     topic names
 * @param providers  OpenAI-compatible providers by name
 * @param keys       API keys by name (the names travel in Kafka; the secrets never do)
 * @param models     model names jobs may ask for, each an ordered fallback chain of routes
 * @param dispatcher dispatcher settings ({@code successors_listen_ms}, when not set, from {@code worker.heartbeat_ms})
 * @param worker     worker settings
 * @param tenants    tenants by name (none: every job is tenantless, or names its key pool with its own {@code tenant}
 *                   field, as before tenants existed); see {@link TenantSettings}
 */
public record FleetConfig(
    KafkaSettings kafka,
    TopicSettings topics,
    Map<String, ProviderSettings> providers,
    Map<String, KeySettings> keys,
    Map<String, ModelSettings> models,
    DispatcherSettings dispatcher,
    WorkerSettings worker,
    Map<String, TenantSettings> tenants) {

  /** A fleet without tenants (the form older code builds). */
  public FleetConfig(KafkaSettings kafka, TopicSettings topics, Map<String, ProviderSettings> providers,
      Map<String, KeySettings> keys, Map<String, ModelSettings> models, DispatcherSettings dispatcher,
      WorkerSettings worker) {
    this(kafka, topics, providers, keys, models, dispatcher, worker, null);
  }

  public FleetConfig {
    kafka = kafka == null ? KafkaSettings.defaults() : kafka;
    topics = topics == null ? TopicSettings.defaults() : topics;
    providers = providers == null ? Map.of() : unmodifiable(providers);
    keys = keys == null ? Map.of() : unmodifiable(keys);
    models = models == null ? Map.of() : unmodifiable(models);
    dispatcher = dispatcher == null ? DispatcherSettings.defaults() : dispatcher;
    worker = worker == null ? WorkerSettings.defaults() : worker;
    if (dispatcher.successorsListenMs() == null) { // not set: long enough to hear every worker at this interval
      dispatcher = dispatcher.withSuccessorsListenMs(worker.heardWithinMs());
    }
    Map<String, TenantSettings> resolved = new LinkedHashMap<>();
    if (tenants != null) {
      for (var e : tenants.entrySet()) {
        TenantSettings t = e.getValue() == null ? new TenantSettings(null, null, null, null, null, null) : e.getValue();
        resolved.put(e.getKey(), t.resolved(e.getKey(), topics));
      }
    }
    tenants = unmodifiable(resolved);
    for (var e : providers.entrySet()) {
      ConfigException.require(e.getValue() != null, "providers." + e.getKey() + " is empty");
      e.getValue().validate(e.getKey());
    }
  }

  /** Checks the references between sections; separate so partial configs can be built in tests. */
  public FleetConfig validated() {
    ConfigException.require(!models.isEmpty(), "models must define at least one model");
    for (var e : keys.entrySet()) {
      ConfigException.require(e.getValue() != null, "keys." + e.getKey() + " is empty");
      e.getValue().validate(e.getKey(), this);
    }
    for (var e : models.entrySet()) {
      ConfigException.require(e.getValue() != null, "models." + e.getKey() + " is empty");
      e.getValue().validate(e.getKey(), this);
    }
    TenantSettings.validateAll(this);
    return this;
  }

  /** The model settings for a job's model name, falling back to the pass-through model {@code *}. */
  public Optional<ModelSettings> model(String name) {
    ModelSettings m = models.get(name);
    return Optional.ofNullable(m != null ? m : models.get("*"));
  }

  /** The names of the keys a route may use: its own list, or every key of its provider. */
  public List<String> keysOf(RouteSettings route) {
    if (!route.keys().isEmpty()) {
      return route.keys();
    }
    return keys.entrySet().stream()
        .filter(e -> route.provider().equals(e.getValue().provider()))
        .map(Map.Entry::getKey)
        .sorted()
        .toList();
  }

  /** The settings of a configured tenant. */
  public Optional<TenantSettings> tenant(String name) {
    return name == null ? Optional.empty() : Optional.ofNullable(tenants.get(name));
  }

  /** The configured tenant whose job topic this is, or null (a shared job topic, or no job topic). */
  public String tenantOfTopic(String topic) {
    for (var e : tenants.entrySet()) {
      if (e.getValue().topics().all().contains(topic)) {
        return e.getKey();
      }
    }
    return null;
  }

  /** A tenant's weight for fair sharing: its configured weight, 1 for a tenant not configured or none. */
  public int weightOf(String tenant) {
    TenantSettings t = tenant == null ? null : tenants.get(tenant);
    return t == null ? 1 : t.weight();
  }

  public FleetConfig withTenants(Map<String, TenantSettings> t) {
    return new FleetConfig(kafka, topics, providers, keys, models, dispatcher, worker, t);
  }

  public FleetConfig withKafka(KafkaSettings k) {
    return new FleetConfig(k, topics, providers, keys, models, dispatcher, worker, tenants);
  }

  public FleetConfig withProviders(Map<String, ProviderSettings> p) {
    return new FleetConfig(kafka, topics, p, keys, models, dispatcher, worker, tenants);
  }

  public FleetConfig withKeys(Map<String, KeySettings> k) {
    return new FleetConfig(kafka, topics, providers, k, models, dispatcher, worker, tenants);
  }

  public FleetConfig withModels(Map<String, ModelSettings> m) {
    return new FleetConfig(kafka, topics, providers, keys, m, dispatcher, worker, tenants);
  }

  public FleetConfig withTopics(TopicSettings t) {
    return new FleetConfig(kafka, t, providers, keys, models, dispatcher, worker, tenants);
  }

  public FleetConfig withDispatcher(DispatcherSettings d) {
    return new FleetConfig(kafka, topics, providers, keys, models, d, worker, tenants);
  }

  public FleetConfig withWorker(WorkerSettings w) {
    return new FleetConfig(kafka, topics, providers, keys, models, dispatcher, w, tenants);
  }

  private static <V> Map<String, V> unmodifiable(Map<String, V> m) {
    return java.util.Collections.unmodifiableMap(new LinkedHashMap<>(m));
  }
}
