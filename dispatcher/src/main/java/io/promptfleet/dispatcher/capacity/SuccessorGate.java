package io.promptfleet.dispatcher.capacity;

import io.promptfleet.common.config.DispatcherSettings;
import io.promptfleet.common.config.SuccessorMode;
import io.promptfleet.common.job.SuccessorProtocol;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the dispatcher may write successor assignments now ({@code dispatcher.successors}, issue 13): a worker
 * that does not follow the current successor rules would start one at once, over its key's limit, or run one twice
 * after a share-partition leader change ({@link SuccessorProtocol}).
 *
 * <p>{@code true}: always open (the operator vouches for the workers); {@code false}: never. {@code auto}: open
 * while at least one worker is known, every live worker's last heartbeat reports {@code successor_protocol} of at
 * least {@link SuccessorProtocol#CURRENT}, and the gate has listened to heartbeats for {@code
 * dispatcher.successors_listen_ms} (two of the workers' heartbeat intervals and a second: {@link #HEARD_FROM_ALL_MS}
 * with their default of 5 s) since it first knew a worker (so after a dispatcher's start or takeover, or once the
 * fleet was empty, every live worker has reported before the first successor is written). Which workers are live is the status board's word: it tells
 * the gate of each heartbeat ({@link #reported}) and of each worker it forgets ({@link #left}). Each flip is logged
 * once at INFO with its reason.
 *
 * <p>{@link #open} is a field, recomputed on each heartbeat and departure, and once when the listening spell ends
 * (the question names the time it is asked at, so the gate opens on time, not at the next heartbeat after it): the
 * planner asks it per plan, at the cost of a comparison.
 *
 * <p>Not thread-safe: owned by the dispatcher thread, like the board.
 */
public final class SuccessorGate {
  /** How long the gate listens to heartbeats before it trusts that it knows every live worker, by default. */
  public static final long HEARD_FROM_ALL_MS = DispatcherSettings.DEFAULT_SUCCESSORS_LISTEN_MS;

  private static final Logger LOG = LoggerFactory.getLogger(SuccessorGate.class);

  private final SuccessorMode mode;
  private final long heardFromAllMs;
  /** Live workers and whether each follows the current successor rules. */
  private final Map<String, Boolean> current = new HashMap<>();
  /** The live workers that do not, in name order (the log names the first). */
  private final TreeSet<String> behind = new TreeSet<>();
  private long listeningSinceMs = -1;
  /** While the listening spell alone keeps the gate closed, when it ends; else never. */
  private long opensAtMs = Long.MAX_VALUE;
  private boolean open;

  /** A gate of {@code mode} that listens {@link #HEARD_FROM_ALL_MS} before it opens. */
  public SuccessorGate(SuccessorMode mode) {
    this(mode, HEARD_FROM_ALL_MS);
  }

  /** The gate {@code dispatcher.successors} and {@code dispatcher.successors_listen_ms} describe. */
  public static SuccessorGate of(DispatcherSettings settings) {
    return new SuccessorGate(settings.successors(), settings.successorsListenMs());
  }

  /** A gate of {@code mode} that listens {@code heardFromAllMs} before it opens ({@code successors_listen_ms}). */
  public SuccessorGate(SuccessorMode mode, long heardFromAllMs) {
    this.mode = mode;
    this.heardFromAllMs = heardFromAllMs;
    this.open = mode == SuccessorMode.ON;
  }

  /** Whether successor assignments may be planned at {@code nowMs} (the dispatcher's clock, as the heartbeats'). */
  public boolean open(long nowMs) {
    if (!open && nowMs >= opensAtMs) {
      recompute(nowMs);
    }
    return open;
  }

  /** A heartbeat of {@code workerId}, reporting {@code protocol} (null: the worker does not know successors). */
  public void reported(String workerId, @Nullable Integer protocol, long nowMs) {
    if (mode != SuccessorMode.AUTO) {
      return;
    }
    if (current.isEmpty()) {
      listeningSinceMs = nowMs;
    }
    boolean ok = protocol != null && protocol >= SuccessorProtocol.CURRENT;
    current.put(workerId, ok);
    if (ok) {
      behind.remove(workerId);
    } else {
      behind.add(workerId);
    }
    recompute(nowMs);
  }

  /** The board forgot {@code workerId}: no heartbeat for a minute. */
  public void left(String workerId, long nowMs) {
    if (mode != SuccessorMode.AUTO || current.remove(workerId) == null) {
      return;
    }
    behind.remove(workerId);
    recompute(nowMs);
  }

  private void recompute(long nowMs) {
    String closedBecause;
    opensAtMs = Long.MAX_VALUE;
    if (current.isEmpty()) {
      closedBecause = "no worker is known (none has sent a heartbeat within a minute)";
    } else if (!behind.isEmpty()) {
      closedBecause = "worker " + behind.first() + " does not report successor protocol " + SuccessorProtocol.CURRENT
          + (behind.size() > 1 ? " (nor do " + (behind.size() - 1) + " more)" : "");
    } else if (nowMs - listeningSinceMs < heardFromAllMs) {
      closedBecause = "not every live worker may have sent a heartbeat yet";
      opensAtMs = listeningSinceMs + heardFromAllMs;
    } else {
      closedBecause = null;
    }
    boolean now = closedBecause == null;
    if (now && !open) {
      LOG.info("successor assignments on: every live worker ({}) reports successor protocol {} or later",
          current.size(), SuccessorProtocol.CURRENT);
    } else if (!now && open) {
      LOG.info("successor assignments off: {}", closedBecause);
    }
    open = now;
  }
}
