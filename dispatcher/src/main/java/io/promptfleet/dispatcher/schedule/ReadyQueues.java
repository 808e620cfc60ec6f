package io.promptfleet.dispatcher.schedule;

import io.promptfleet.common.config.PrioritySettings;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.Queue;
import java.util.function.BiFunction;
import java.util.function.BiPredicate;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;
import java.util.function.ToLongFunction;

/**
 * Jobs read from Kafka and not yet dispatched: per (group, {@link Lane}) one queue per tenant, where a group is what
 * shares capacity (the model's fallback chain), so a saturated model never blocks another, and a tenant is the job's
 * tenant (null: the untenanted jobs, one tenant of their own).
 *
 * <p>Which lane goes next is weighted (stride scheduling: while every lane has work, lane L gets
 * {@code weight(L) / sum of weights} of the dispatches) with aging: a job ready for {@code aging_ms} or longer
 * goes first, oldest first. Within a lane, the group not blocked whose oldest head (over its tenants not blocked)
 * is oldest goes. Within that (group, lane), the tenant goes by stride scheduling with the tenant's weight: each
 * tenant with queued jobs has a pass, the least pass goes (ties: the older head) and is charged
 * {@code 1 / weight}, so while tenants stay backlogged they get dispatches of the (group, lane) in proportion to
 * their weights. A tenant whose queue empties is dropped and starts again, when a job of it comes back, at the
 * least pass of the tenants queued there that share its capacity pool (the pool function: tenants of one pool are
 * blocked together), or with none at the (group, lane)'s virtual time (the highest pass charged there): an idle
 * tenant earns no credit while idle, and an idle fleet gives everything to whoever has work. Not the virtual time
 * when its pool has others: tenants of another pool (a tenant's own keys) may have been charged far ahead while
 * this pool could not go, and a newcomer placed there would wait until the pool's older tenants caught up. A tenant
 * that has jobs but is skipped (its group or, with {@link #next(long, Predicate, BiPredicate)}, the tenant is
 * blocked) keeps its pass and catches up once it can go. An item taken out without a dispatch ({@link #skip}) charges
 * neither its lane nor its tenant.
 * Retry lanes are ordered by the time each retry becomes due, across tenants (no weights there: a retry is work
 * already admitted once); the others are FIFO within a tenant.
 *
 * <p>Cost: {@link #next} looks at every (group, lane, tenant) with queued jobs; memory is the queued jobs plus one
 * small entry per (group, lane, tenant) that has some.
 *
 * <p>Not thread-safe: owned by the dispatcher loop thread.
 *
 * @param <T> the pending item type
 */
public final class ReadyQueues<T> {
  /** Where a job waits. */
  public enum Lane { RETRY, HIGH, NORMAL, LOW }

  /** The item to dispatch next, and where it waits. */
  public record Choice<T>(String group, Lane lane, T item) {}

  /** One tenant's jobs in one (group, lane), with its stride state. */
  private static final class TenantQueue<T> {
    final Queue<T> items;
    final double stride;
    double pass;

    TenantQueue(Queue<T> items, double stride, double pass) {
      this.items = items;
      this.stride = stride;
      this.pass = pass;
    }
  }

  /** The jobs of one (group, lane): a queue per tenant that has jobs there. */
  private static final class Slot<T> {
    final Map<String, TenantQueue<T>> tenants = new LinkedHashMap<>(); // null key: the untenanted jobs
    double virtualTime;
    int size;
  }

  private final Map<String, EnumMap<Lane, Slot<T>>> groups = new LinkedHashMap<>();
  private final ToLongFunction<T> readyAt;
  private final Function<T, String> tenantOf;
  private final ToDoubleFunction<String> weightOf;
  private final BiFunction<String, String, String> poolOf;
  private final Comparator<T> byReadyAt;
  private final EnumMap<Lane, Double> pass = new EnumMap<>(Lane.class);
  private final EnumMap<Lane, Double> stride = new EnumMap<>(Lane.class);
  private final EnumMap<Lane, Integer> laneSize = new EnumMap<>(Lane.class);
  private final EnumMap<Lane, Boolean> wasCandidate = new EnumMap<>(Lane.class);
  private final long agingMs;
  private double virtualTime;
  private int size;

  /**
   * Without tenants: every item is of one tenant (as before fair sharing among tenants).
   *
   * @param priority weights and aging
   * @param readyAt  when an item became ready to go (epoch ms): its record's time, or a retry's due time
   */
  public ReadyQueues(PrioritySettings priority, ToLongFunction<T> readyAt) {
    this(priority, readyAt, t -> null, tenant -> 1);
  }

  /**
   * @param priority weights and aging
   * @param readyAt  when an item became ready to go (epoch ms): its record's time, or a retry's due time
   * @param tenantOf an item's tenant (null: untenanted, a tenant of its own); must not change while it is queued
   * @param weightOf a tenant's weight for the fair share within a (group, lane), null for the untenanted (a value
   *                 that is not a positive number counts as 1)
   */
  public ReadyQueues(PrioritySettings priority, ToLongFunction<T> readyAt, Function<T, String> tenantOf,
      ToDoubleFunction<String> weightOf) {
    this(priority, readyAt, tenantOf, weightOf, (group, tenant) -> "");
  }

  /**
   * @param poolOf the capacity pool of a (group, tenant) (tenant null for the untenanted): tenants of one pool are
   *               blocked together; a tenant that comes back starts at the least pass of its pool's queued tenants
   */
  public ReadyQueues(PrioritySettings priority, ToLongFunction<T> readyAt, Function<T, String> tenantOf,
      ToDoubleFunction<String> weightOf, BiFunction<String, String, String> poolOf) {
    this.poolOf = poolOf;
    this.readyAt = readyAt;
    this.tenantOf = tenantOf;
    this.weightOf = weightOf;
    this.byReadyAt = Comparator.comparingLong(readyAt);
    this.agingMs = priority.agingMs();
    stride.put(Lane.RETRY, 1.0 / priority.weightRetry());
    stride.put(Lane.HIGH, 1.0 / priority.weightHigh());
    stride.put(Lane.NORMAL, 1.0 / priority.weightNormal());
    stride.put(Lane.LOW, 1.0 / priority.weightLow());
    for (Lane l : Lane.values()) {
      pass.put(l, 0.0);
      laneSize.put(l, 0);
      wasCandidate.put(l, false);
    }
  }

  public void add(String group, Lane lane, T item) {
    Slot<T> slot = groups.computeIfAbsent(group, g -> {
      EnumMap<Lane, Slot<T>> m = new EnumMap<>(Lane.class);
      for (Lane l : Lane.values()) {
        m.put(l, new Slot<>());
      }
      return m;
    }).get(lane);
    String tenant = tenantOf.apply(item);
    TenantQueue<T> q = slot.tenants.get(tenant);
    if (q == null) { // (back) from idle: no credit for the time it had nothing queued
      double w = weightOf.applyAsDouble(tenant);
      q = new TenantQueue<>(lane == Lane.RETRY ? new PriorityQueue<>(byReadyAt) : new ArrayDeque<>(),
          w > 0 && Double.isFinite(w) ? 1.0 / w : 1.0, startPass(group, slot, tenant));
      slot.tenants.put(tenant, q);
    }
    q.items.add(item);
    slot.size++;
    laneSize.merge(lane, 1, Integer::sum);
    size++;
  }

  /** Where a tenant (back) in a slot starts: the least pass of its pool's tenants queued there, else the slot's vt. */
  private double startPass(String group, Slot<T> slot, String tenant) {
    String pool = poolOf.apply(group, tenant);
    double least = Double.NaN;
    for (var e : slot.tenants.entrySet()) {
      if (Objects.equals(poolOf.apply(group, e.getKey()), pool) && !(e.getValue().pass >= least)) {
        least = e.getValue().pass;
      }
    }
    return Double.isNaN(least) ? slot.virtualTime : least;
  }

  /**
   * The item that should go next at {@code nowMs}, skipping groups for which {@code blocked} holds (no capacity
   * this round) and retries not yet due; null when nothing can go. The item stays queued until {@link #take}.
   */
  public Choice<T> next(long nowMs, Predicate<String> blocked) {
    return next(nowMs, blocked, (group, tenant) -> false);
  }

  /**
   * As {@link #next(long, Predicate)}, also skipping a tenant's jobs of a group for which {@code blockedTenant}
   * holds (group, tenant; tenant null for the untenanted), so other tenants of that group may still go.
   */
  public Choice<T> next(long nowMs, Predicate<String> blocked, BiPredicate<String, String> blockedTenant) {
    EnumMap<Lane, Choice<T>> heads = new EnumMap<>(Lane.class); // per lane: the oldest head of the best group
    EnumMap<Lane, Slot<T>> slotOf = new EnumMap<>(Lane.class);
    Choice<T> oldest = null;
    for (var g : groups.entrySet()) {
      if (blocked.test(g.getKey())) {
        continue;
      }
      for (var s : g.getValue().entrySet()) {
        Lane lane = s.getKey();
        Slot<T> slot = s.getValue();
        if (slot.size == 0) {
          continue;
        }
        T head = null;
        for (var t : slot.tenants.entrySet()) {
          T h = t.getValue().items.peek();
          if (blockedTenant.test(g.getKey(), t.getKey()) || lane == Lane.RETRY && readyAt.applyAsLong(h) > nowMs) {
            continue;
          }
          if (head == null || readyAt.applyAsLong(h) < readyAt.applyAsLong(head)) {
            head = h;
          }
        }
        if (head == null) {
          continue;
        }
        Choice<T> best = heads.get(lane);
        if (best == null || readyAt.applyAsLong(head) < readyAt.applyAsLong(best.item())) {
          Choice<T> c = new Choice<>(g.getKey(), lane, head);
          heads.put(lane, c);
          slotOf.put(lane, slot);
          if (oldest == null || readyAt.applyAsLong(head) < readyAt.applyAsLong(oldest.item())) {
            oldest = c;
          }
        }
      }
    }
    if (heads.isEmpty()) {
      return null;
    }
    for (Lane l : Lane.values()) {
      boolean candidate = heads.containsKey(l);
      if (candidate && !wasCandidate.get(l)) {
        pass.put(l, Math.max(pass.get(l), virtualTime)); // an idle lane earns no credit while idle
      }
      wasCandidate.put(l, candidate);
    }
    if (agingMs > 0 && nowMs - readyAt.applyAsLong(oldest.item()) >= agingMs) {
      return oldest;
    }
    Choice<T> pick = null;
    for (Lane l : Lane.values()) {
      Choice<T> c = heads.get(l);
      if (c != null && (pick == null || pass.get(l) < pass.get(pick.lane()))) {
        pick = c;
      }
    }
    if (pick.lane() == Lane.RETRY) {
      return pick; // the retry due first (across tenants)
    }
    return new Choice<>(pick.group(), pick.lane(), byStride(slotOf.get(pick.lane()), pick.group(), blockedTenant));
  }

  /** The head of the tenant not blocked with the least pass in a slot (ties: the older head). */
  private T byStride(Slot<T> slot, String group, BiPredicate<String, String> blockedTenant) {
    TenantQueue<T> best = null;
    for (var t : slot.tenants.entrySet()) {
      TenantQueue<T> q = t.getValue();
      if (blockedTenant.test(group, t.getKey())) {
        continue;
      }
      if (best == null || q.pass < best.pass || q.pass == best.pass
          && readyAt.applyAsLong(q.items.peek()) < readyAt.applyAsLong(best.items.peek())) {
        best = q;
      }
    }
    return best.items.peek();
  }

  /** The tenant a chosen item is queued under (null: untenanted). */
  public String tenant(Choice<T> c) {
    return tenantOf.apply(c.item());
  }

  /** Removes the chosen item (the head of its tenant's queue) and charges its lane and, outside retries, tenant. */
  public void take(Choice<T> c) {
    remove(c, true);
  }

  /**
   * Removes the chosen item without charging its lane or tenant: it was not dispatched (its tenant's budget held or
   * rejected it), so it takes none of the dispatches the weights share. Charging it gave the lane's turns to jobs
   * that did not go: a budget-held high job, put back each time its tenant's spend moved, made other high jobs wait
   * while the normal and low lanes went.
   */
  public void skip(Choice<T> c) {
    remove(c, false);
  }

  private void remove(Choice<T> c, boolean charge) {
    Slot<T> slot = groups.get(c.group()).get(c.lane());
    String tenant = tenantOf.apply(c.item());
    TenantQueue<T> q = slot.tenants.get(tenant);
    if (q == null || q.items.peek() != c.item()) {
      throw new IllegalStateException("the queue changed between next() and take()");
    }
    q.items.poll();
    if (charge && c.lane() != Lane.RETRY) {
      slot.virtualTime = Math.max(slot.virtualTime, q.pass);
      q.pass += q.stride;
    }
    if (q.items.isEmpty()) {
      slot.tenants.remove(tenant);
    }
    slot.size--;
    if (charge) {
      virtualTime = pass.get(c.lane());
      pass.merge(c.lane(), stride.get(c.lane()), Double::sum);
    }
    laneSize.merge(c.lane(), -1, Integer::sum);
    size--;
  }

  /** Removes and returns every queued item matching {@code drop}. */
  public List<T> removeIf(Predicate<T> drop) {
    List<T> removed = new ArrayList<>();
    for (EnumMap<Lane, Slot<T>> g : groups.values()) {
      for (var e : g.entrySet()) {
        Slot<T> slot = e.getValue();
        for (Iterator<TenantQueue<T>> qs = slot.tenants.values().iterator(); qs.hasNext(); ) {
          Queue<T> q = qs.next().items;
          for (Iterator<T> it = q.iterator(); it.hasNext(); ) {
            T t = it.next();
            if (drop.test(t)) {
              it.remove();
              removed.add(t);
              slot.size--;
              laneSize.merge(e.getKey(), -1, Integer::sum);
              size--;
            }
          }
          if (q.isEmpty()) {
            qs.remove();
          }
        }
      }
    }
    return removed;
  }

  public int size() {
    return size;
  }

  public int size(Lane lane) {
    return laneSize.get(lane);
  }

  /** Jobs of {@code group} queued in {@code lane}. */
  public int size(String group, Lane lane) {
    EnumMap<Lane, Slot<T>> g = groups.get(group);
    return g == null ? 0 : g.get(lane).size;
  }
}
