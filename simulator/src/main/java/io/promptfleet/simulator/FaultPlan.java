package io.promptfleet.simulator;

/**
 * Faults chosen by the test or benchmark rather than by the prompt.
 *
 * <p>For each request the simulator takes, in this order, the first non-empty set of <em>active</em>
 * faults: the directives in the last user message; the faults registered for the request's
 * {@code Authorization} header ({@link #forKey}); the default faults ({@link #forAll}). A fault is active
 * when its {@link Fault#times(int)} budget is not used up and its {@link Fault#probability(double)} draw
 * succeeds. Several faults may apply together (e.g. {@code crlf} and {@code keepalive}); when two decide
 * how the response ends, the first listed wins. A {@code times} budget of a registered fault counts the
 * requests the registration covers.
 *
 * <p>Answer shapes register the same way, e.g. {@code forKey("Bearer k1", Fault.toolCalls(2))} makes every
 * answer for that key a pair of tool calls; see {@link FaultKind#shapesAnswer()}.
 *
 * <p>Thread-safe: may be changed from any thread while requests are served; a change applies to requests
 * whose body arrives after it.
 */
public interface FaultPlan {

  /** Replaces the default faults applied to every request that no directive or key entry covers. */
  FaultPlan forAll(Fault... faults);

  /** Replaces the faults applied to requests whose {@code Authorization} header equals {@code authorization}. */
  FaultPlan forKey(String authorization, Fault... faults);

  /** Removes the faults registered for one {@code Authorization} value. */
  FaultPlan clearKey(String authorization);

  /** Removes every registered fault, forgets the {@code times} counts of directives, and reseeds with 0. */
  FaultPlan clearAll();

  /** Reseeds the random source behind {@link Fault#probability(double)} (initially seeded with 0). */
  FaultPlan seed(long seed);
}
