package io.promptfleet.simulator.internal;

import io.promptfleet.simulator.Fault;
import io.promptfleet.simulator.FaultPlan;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The {@link FaultPlan} of one provider, and the resolution of the faults that apply to a request
 * (directives first, then the request's key, then the defaults).
 *
 * <p>Thread-safe: registrations are replaced atomically; {@code times} counters are atomic or behind a
 * lock; the random source is behind a lock. {@link #resolve} runs on an event loop and never blocks beyond
 * those short critical sections.
 */
public final class DefaultFaultPlan implements FaultPlan {

  /** How many distinct directive+content pairs keep their {@code times} count. */
  static final int DIRECTIVE_COUNTER_CAPACITY = 100_000;

  private final ConcurrentHashMap<String, List<Registration>> byKey = new ConcurrentHashMap<>();
  private volatile List<Registration> defaults = List.of();
  private final BoundedCounters directiveCounts = new BoundedCounters(DIRECTIVE_COUNTER_CAPACITY);
  private final Object randomLock = new Object();
  private Random random = new Random(0);

  @Override
  public FaultPlan forAll(Fault... faults) {
    defaults = register(faults);
    return this;
  }

  @Override
  public FaultPlan forKey(String authorization, Fault... faults) {
    Objects.requireNonNull(authorization, "authorization");
    byKey.put(authorization, register(faults));
    return this;
  }

  @Override
  public FaultPlan clearKey(String authorization) {
    byKey.remove(authorization);
    return this;
  }

  @Override
  public FaultPlan clearAll() {
    byKey.clear();
    defaults = List.of();
    directiveCounts.clear();
    return seed(0);
  }

  @Override
  public FaultPlan seed(long seed) {
    synchronized (randomLock) {
      random = new Random(seed);
    }
    return this;
  }

  /**
   * The faults that apply to one request, in priority order; empty for a normal response.
   *
   * @param key     the request's {@code Authorization} header
   * @param request the parsed request; directives are read from its last user message
   * @throws InvalidRequestException when the last user message holds a malformed directive
   */
  public List<Fault> resolve(String key, ChatRequest request) throws InvalidRequestException {
    return resolve(key, request.lastUserText(), request::allText);
  }

  /**
   * The faults that apply to one request whose directives are in {@code directiveText} and whose whole text
   * (what a directive's {@code times} counts per) {@code content} gives, e.g. an embeddings request's inputs.
   *
   * @throws InvalidRequestException when {@code directiveText} holds a malformed directive
   */
  public List<Fault> resolve(String key, String directiveText, Supplier<String> content)
      throws InvalidRequestException {
    List<Fault> directives = Directives.parse(directiveText);
    if (!directives.isEmpty()) {
      List<Fault> active = new ArrayList<>(directives.size());
      String whole = null;
      for (Fault fault : directives) {
        if (fault.times().isPresent()) {
          whole = whole == null ? content.get() : whole;
          long seen = directiveCounts.incrementAndGet(counterKey(fault, whole));
          if (seen > fault.times().getAsInt()) {
            continue;
          }
        }
        if (draw(fault.probability())) {
          active.add(fault);
        }
      }
      if (!active.isEmpty()) {
        return active;
      }
    }
    List<Fault> forKey = activate(key == null ? null : byKey.get(key));
    return forKey.isEmpty() ? activate(defaults) : forKey;
  }

  private List<Fault> activate(List<Registration> registrations) {
    if (registrations == null || registrations.isEmpty()) {
      return List.of();
    }
    List<Fault> active = new ArrayList<>(registrations.size());
    for (Registration r : registrations) {
      if (r.fault.times().isPresent() && r.uses.incrementAndGet() > r.fault.times().getAsInt()) {
        continue;
      }
      if (draw(r.fault.probability())) {
        active.add(r.fault);
      }
    }
    return active;
  }

  private boolean draw(double probability) {
    if (probability >= 1.0) {
      return true;
    }
    if (probability <= 0.0) {
      return false;
    }
    synchronized (randomLock) {
      return random.nextDouble() < probability;
    }
  }

  private static List<Registration> register(Fault... faults) {
    List<Registration> list = new ArrayList<>(faults.length);
    for (Fault f : faults) {
      list.add(new Registration(Objects.requireNonNull(f, "fault")));
    }
    return List.copyOf(list);
  }

  /** A digest, so that the counter map stays small however long the prompts are. */
  private static String counterKey(Fault fault, String content) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(fault.toDirective().getBytes(StandardCharsets.UTF_8));
      sha.update((byte) 0);
      sha.update(content.getBytes(StandardCharsets.UTF_8));
      return Base64.getEncoder().withoutPadding().encodeToString(sha.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required by the Java platform", e);
    }
  }

  /** A registered fault with the number of requests it has covered so far. */
  private static final class Registration {
    final Fault fault;
    final AtomicLong uses = new AtomicLong();

    Registration(Fault fault) {
      this.fault = fault;
    }
  }
}
