package io.promptfleet.dispatcher.capacity;

import com.fasterxml.jackson.databind.JsonNode;
import io.promptfleet.common.config.RouteSettings;
import io.promptfleet.common.job.Job;
import java.util.Map;

/**
 * The completion limit of a job on a route: what a dispatch reserves, what the assignment sends, and which cap
 * applies.
 *
 * <ul>
 *   <li>A limit the job set ({@code max_tokens} or {@code max_completion_tokens}, the larger when both) travels as
 *       the producer wrote it, in its own field: the dispatcher never moves it to the other field.</li>
 *   <li>A job that sets none is sent as it is; the assignment's route carries {@code default_max_tokens} and
 *       {@code max_tokens_field}, and the worker writes that limit into that field of the request. So a retry that
 *       falls back to a route with another field or default gets that route's.</li>
 *   <li>The reservation is the limit the job set, else the route's default; a route's {@code max_tokens_cap} applies
 *       to the limit the job set, whichever field carries it.</li>
 *   <li>An embeddings job ({@link Job#isEmbeddings()}) has no completion: it reserves nothing beyond its input, and
 *       neither a route's default nor its cap applies.</li>
 * </ul>
 *
 * <p>Stateless and thread-safe.
 */
public final class TokenLimits {
  private TokenLimits() {}

  /** The completion tokens a dispatch of the job on the route reserves. */
  public static int reserved(Job job, RouteSettings route) {
    return reserved(job, route.defaultMaxTokens());
  }

  /**
   * The completion tokens a dispatch of the job reserves on a route whose default limit is {@code routeDefault}
   * (null: none).
   */
  public static int reserved(Job job, Integer routeDefault) {
    if (job.isEmbeddings()) {
      return 0;
    }
    return job.maxTokens() != null ? job.maxTokens() : routeDefault != null ? routeDefault : 0;
  }

  /** Whether the limit the job set is larger than the route's cap (never, for a job that sets none). */
  public static boolean exceedsCap(Job job, RouteSettings route) {
    return job.maxTokens() != null && job.maxTokens() > route.maxTokensCap();
  }

  /**
   * The request field that carries the limit the job set (the larger one when it sets both), for messages; null when
   * it sets none.
   */
  public static String field(Job job) {
    Map<String, JsonNode> p = job.params();
    JsonNode mt = p.get(Job.MAX_TOKENS);
    JsonNode mct = p.get(Job.MAX_COMPLETION_TOKENS);
    if (mct != null && (mt == null || mct.asLong() >= mt.asLong())) {
      return Job.MAX_COMPLETION_TOKENS;
    }
    if (mt != null || job.maxTokens() != null) {
      return Job.MAX_TOKENS;
    }
    return null;
  }
}
