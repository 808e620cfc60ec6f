package io.promptfleet.common.config;

import java.util.List;

/**
 * A model name that jobs may ask for, mapped to an ordered fallback chain of routes. The model named {@code *}
 * catches every other name and passes it through to its routes' providers as is.
 *
 * @param routes the fallback chain, first choice first
 */
public record ModelSettings(List<RouteSettings> routes) {
  public ModelSettings {
    routes = routes == null ? List.of() : List.copyOf(routes);
  }

  void validate(String name, FleetConfig config) {
    String at = "models." + name;
    ConfigException.require(!routes.isEmpty(), at + ".routes must list at least one route");
    for (int i = 0; i < routes.size(); i++) {
      RouteSettings r = routes.get(i);
      String rat = at + ".routes[" + i + "]";
      ConfigException.require(r.provider() != null && config.providers().containsKey(r.provider()),
          rat + ".provider must name a configured provider (got " + r.provider() + ")");
      ConfigException.require(r.model() != null || "*".equals(name),
          rat + ".model is required (only the pass-through model * may leave it out)");
      for (String k : r.keys()) {
        KeySettings key = config.keys().get(k);
        ConfigException.require(key != null, rat + ".keys names an unknown key: " + k);
        ConfigException.require(key.provider().equals(r.provider()),
            rat + ".keys: key " + k + " belongs to provider " + key.provider() + ", not " + r.provider());
      }
      ConfigException.require(!config.keysOf(r).isEmpty(), rat + " has no keys: provider " + r.provider()
          + " has none configured");
      ConfigException.require(r.maxTokensCap() > 0, rat + ".max_tokens_cap must be > 0");
      ConfigException.require(r.defaultMaxTokens() > 0 && r.defaultMaxTokens() <= r.maxTokensCap(),
          rat + ".default_max_tokens must be > 0 and <= max_tokens_cap");
      ConfigException.require(r.maxPromptTokens() == null || r.maxPromptTokens() > 0,
          rat + ".max_prompt_tokens must be > 0");
      r.validate(rat, config.providers().get(r.provider()).protocol());
      r.breakerOver(config.dispatcher().breaker(), rat);
      sameBreakerEverywhere(r, rat, config);
    }
  }

  /** Routes of one name share one breaker (and its counts), so their breaker blocks must agree. */
  private static void sameBreakerEverywhere(RouteSettings r, String at, FleetConfig config) {
    for (var e : config.models().entrySet()) {
      if (e.getValue() == null) {
        continue;
      }
      List<RouteSettings> others = e.getValue().routes();
      for (int i = 0; i < others.size(); i++) {
        RouteSettings o = others.get(i);
        ConfigException.require(!o.name().equals(r.name()) || o.breaker().equals(r.breaker()),
            at + ".breaker differs from models." + e.getKey() + ".routes[" + i + "].breaker: routes named "
            + r.name() + " share one breaker, give them the same breaker block");
      }
    }
  }
}
