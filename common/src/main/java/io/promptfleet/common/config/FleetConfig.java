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
 * @param dispatcher dispatcher settings
 * @param worker     worker settings
 */
public record FleetConfig(
    KafkaSettings kafka,
    TopicSettings topics,
    Map<String, ProviderSettings> providers,
    Map<String, KeySettings> keys,
    Map<String, ModelSettings> models,
    DispatcherSettings dispatcher,
    WorkerSettings worker) {

  public FleetConfig {
    kafka = kafka == null ? KafkaSettings.defaults() : kafka;
    topics = topics == null ? TopicSettings.defaults() : topics;
    providers = providers == null ? Map.of() : unmodifiable(providers);
    keys = keys == null ? Map.of() : unmodifiable(keys);
    models = models == null ? Map.of() : unmodifiable(models);
    dispatcher = dispatcher == null ? DispatcherSettings.defaults() : dispatcher;
    worker = worker == null ? WorkerSettings.defaults() : worker;
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

  public FleetConfig withKafka(KafkaSettings k) {
    return new FleetConfig(k, topics, providers, keys, models, dispatcher, worker);
  }

  public FleetConfig withProviders(Map<String, ProviderSettings> p) {
    return new FleetConfig(kafka, topics, p, keys, models, dispatcher, worker);
  }

  public FleetConfig withKeys(Map<String, KeySettings> k) {
    return new FleetConfig(kafka, topics, providers, k, models, dispatcher, worker);
  }

  public FleetConfig withModels(Map<String, ModelSettings> m) {
    return new FleetConfig(kafka, topics, providers, keys, m, dispatcher, worker);
  }

  public FleetConfig withTopics(TopicSettings t) {
    return new FleetConfig(kafka, t, providers, keys, models, dispatcher, worker);
  }

  public FleetConfig withDispatcher(DispatcherSettings d) {
    return new FleetConfig(kafka, topics, providers, keys, models, d, worker);
  }

  public FleetConfig withWorker(WorkerSettings w) {
    return new FleetConfig(kafka, topics, providers, keys, models, dispatcher, w);
  }

  private static <V> Map<String, V> unmodifiable(Map<String, V> m) {
    return java.util.Collections.unmodifiableMap(new LinkedHashMap<>(m));
  }
}
