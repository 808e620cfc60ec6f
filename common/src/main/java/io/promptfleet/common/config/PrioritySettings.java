package io.promptfleet.common.config;

/**
 * How the dispatcher shares key capacity between the priority lanes: weighted (stride) scheduling, plus aging so
 * that a job waiting long enough goes first whatever its lane.
 *
 * @param weightRetry  share of the retry lane (default 16)
 * @param weightHigh   share of the high lane (default 8)
 * @param weightNormal share of the normal lane (default 3)
 * @param weightLow    share of the low lane (default 1)
 * @param agingMs      a job ready for this long goes before any younger job (default 30 s; 0 = no aging)
 */
public record PrioritySettings(Integer weightRetry, Integer weightHigh, Integer weightNormal, Integer weightLow,
    Long agingMs) {
  public PrioritySettings {
    weightRetry = weightRetry == null ? 16 : weightRetry;
    weightHigh = weightHigh == null ? 8 : weightHigh;
    weightNormal = weightNormal == null ? 3 : weightNormal;
    weightLow = weightLow == null ? 1 : weightLow;
    agingMs = agingMs == null ? 30_000L : agingMs;
    ConfigException.require(weightRetry > 0, "dispatcher.priority.weight_retry must be > 0");
    ConfigException.require(weightHigh > 0, "dispatcher.priority.weight_high must be > 0");
    ConfigException.require(weightNormal > 0, "dispatcher.priority.weight_normal must be > 0");
    ConfigException.require(weightLow > 0, "dispatcher.priority.weight_low must be > 0");
    ConfigException.require(agingMs >= 0, "dispatcher.priority.aging_ms must be >= 0");
  }

  public static PrioritySettings defaults() {
    return new PrioritySettings(null, null, null, null, null);
  }
}
