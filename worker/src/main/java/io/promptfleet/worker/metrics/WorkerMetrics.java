package io.promptfleet.worker.metrics;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.promptfleet.common.metrics.MeterCatalogue;
import io.promptfleet.common.metrics.MeterSpec;
import java.util.List;

/**
 * Every meter of a worker, in one place: {@link Spec} lists each one's name, type, base unit, description and tag
 * keys, and every registration of the worker goes through this class (the architecture module's
 * {@code MeterCatalogueTest} fails on a meter registered anywhere else). Names are lowercase with dots (Prometheus: underscores, counters
 * end in {@code _total}, timers in {@code _seconds}); outcomes, providers and models are tags, never a job id. The
 * Grafana dashboard and the KEDA scaler query these names: renaming one, or changing a base unit (which renames the
 * Prometheus series), breaks them.
 *
 * <p>Kafka's own client metrics come through {@link #kafkaClient}: Micrometer's {@code KafkaClientMetrics} for the
 * reply producer, tagged {@code client.id} and {@code kafka.version}. Measured on Kafka 4.4: 74 series plus 12 per
 * broker connection (the bootstrap connection counts as one), 98 with one broker, after the default
 * {@code Registries.kafkaClientSeries()} filter drops the 9 per-topic series of every reply topic. The lanes' share
 * consumers are not bound: {@code KafkaClientMetrics} takes a {@code Producer}, a {@code Consumer} or an admin
 * client, and {@code KafkaShareConsumer} is none of them (Micrometer 1.16); nor is the cancel watcher's consumer.
 *
 * <p>Thread-safe: meters are created once per tag combination and cached.
 */
public final class WorkerMetrics extends MeterCatalogue<WorkerMetrics.Spec> {

  /** A meter of the worker: what Prometheus shows, and the tag keys its registrations must give values for. */
  public enum Spec implements MeterSpec {
    CHUNKS("promptfleet.worker.chunks", Meter.Type.COUNTER, null, false, "chunk records published"),
    ATTEMPTS("promptfleet.worker.attempts", Meter.Type.COUNTER, null, false,
        "attempts that ended, by outcome, failure class and error code",
        "outcome", "class", "code", "provider", "model"),
    TOKENS("promptfleet.worker.tokens", Meter.Type.COUNTER, null, false, "tokens reported by providers",
        "kind", "provider", "model"),
    TIME_TO_FIRST_TOKEN("promptfleet.worker.time.to.first.token", Meter.Type.TIMER, "seconds", true,
        "from request to the first delta of any kind (text, reasoning, tool call, refusal)", "provider", "model"),
    STREAM_DURATION("promptfleet.worker.stream.duration", Meter.Type.TIMER, "seconds", true,
        "from request to the end of a successful stream", "provider", "model"),
    STREAMS_ACTIVE("promptfleet.worker.streams.active", Meter.Type.GAUGE, null, false, "streams in flight"),
    SLOTS_FREE("promptfleet.worker.slots.free", Meter.Type.GAUGE, null, false,
        "assignments this worker could take now"),
    LOCK_RENEWALS("promptfleet.worker.lock.renewals", Meter.Type.COUNTER, null, false,
        "share-group lock renewals of long streams"),
    ASSIGNMENT_PICKUP("promptfleet.worker.assignment.pickup", Meter.Type.TIMER, "seconds", true,
        "from the dispatcher writing an assignment to a lane of this worker acquiring it, first deliveries only "
            + "(compares two hosts' clocks)"),
    SUCCESSORS("promptfleet.worker.successors", Meter.Type.COUNTER, null, false,
        "successor assignments (issue 13) by how they left their wait for the lease whose key slot they take over: "
            + "started after its call ran here (local), its release or their grant was read (released, granted), "
            + "their deadline passed or job was cancelled (deadline, cancelled: answered without a request), or "
            + "handed back to the share group (handed_back)", "start"),
    SUCCESSORS_WAITING("promptfleet.worker.successors.waiting", Meter.Type.GAUGE, null, false,
        "successor assignments held now until the lease whose key slot they take over has ended, and late copies "
            + "held until their claim is read back (not streams)"),
    LATE_COPIES("promptfleet.worker.late.copies", Meter.Type.COUNTER, null, false,
        "first deliveries of ordinary assignments that came over 2 s after their dispatch (they waited for a slot, "
            + "or a share partition's new leader delivered them again): each claimed, and run only once its claim "
            + "was read back and no earlier live claim or release of its lease was seen"),
    LANES_OPEN("promptfleet.worker.lanes.open", Meter.Type.GAUGE, null, false,
        "lanes in the workers' share group now (an idle worker parks all but worker.idle_lanes)"),
    LANE_ACQUIRED("promptfleet.worker.lane.acquired", Meter.Type.DISTRIBUTION_SUMMARY, null, true,
        "assignments acquired by one poll of a lane (a lane polls again once all are done)"),
    PROVIDER_CONNECTIONS_OPEN("promptfleet.worker.provider.connections.open", Meter.Type.GAUGE, null, false,
        "connections to the provider open now", "provider"),
    PROVIDER_CONNECTIONS_OPENED("promptfleet.worker.provider.connections.opened", Meter.Type.COUNTER, null, false,
        "connections to the provider opened (rate: connects per second), by the protocol they speak",
        "provider", "protocol"),
    PROVIDER_STREAMS("promptfleet.worker.provider.streams", Meter.Type.GAUGE, null, false,
        "exchanges in flight on the provider's connections", "provider"),
    PROVIDER_STREAMS_PER_CONNECTION("promptfleet.worker.provider.streams.per.connection", Meter.Type.GAUGE, null,
        false, "exchanges in flight per open connection (1 at most over HTTP/1.1)", "provider"),
    PROVIDER_CONNECTS_PENDING("promptfleet.worker.provider.connects.pending", Meter.Type.GAUGE, null, false,
        "requests past the connect gate waiting for a connection (at most connections.max_pending_connects)",
        "provider"),
    PROVIDER_CONNECTS_WAITING("promptfleet.worker.provider.connects.waiting", Meter.Type.GAUGE, null, false,
        "requests waiting in the worker for their turn to connect", "provider"),
    PROVIDER_CONNECT_TIME("promptfleet.worker.provider.connect.time", Meter.Type.TIMER, "seconds", true,
        "from a request leaving the connect gate to its new connection being ready (TCP connect, TLS handshake, "
            + "ALPN)", "provider"),
    PROVIDER_CONNECT_FAILURES("promptfleet.worker.provider.connect.failures", Meter.Type.COUNTER, null, false,
        "requests that got no connection, by cause (timeout, refused, tls, dns, unreachable, local_resources, "
            + "other) and whether the worker's own load explains it (local)", "provider", "cause", "local"),
    /**
     * A family, not one meter: {@code kafka.<group>.<name>} from the Kafka client's own metrics, described by Kafka;
     * besides these tags, per-node meters add {@code node.id}.
     */
    KAFKA_CLIENT("kafka", Meter.Type.OTHER, null, false,
        "Kafka client metrics of the reply producer (Micrometer KafkaClientMetrics)", "client.id", "kafka.version");

    private final Def def;

    /** See {@link MeterSpec.Def} for what each argument means. */
    Spec(String meterName, Meter.Type type, String baseUnit, boolean histogram, String description,
        String... tagKeys) {
      this.def = new Def(meterName, type, baseUnit, histogram, description, List.of(tagKeys));
    }

    @Override
    public Def def() {
      return def;
    }
  }

  public WorkerMetrics(MeterRegistry registry) {
    super(registry);
  }
}
