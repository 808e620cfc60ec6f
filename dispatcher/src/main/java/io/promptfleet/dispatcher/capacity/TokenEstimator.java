package io.promptfleet.dispatcher.capacity;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import io.promptfleet.common.job.ChatMessage;
import io.promptfleet.common.job.Job;

/**
 * Estimates the prompt tokens of a job before dispatch with the o200k_base BPE tokenizer (jtokkit), plus the
 * chat format's per-message overhead. An estimate: the provider's reported usage corrects it after the attempt.
 *
 * <p>Thread-safe.
 */
public final class TokenEstimator {
  private static final int PER_MESSAGE = 4;
  private static final int PER_REPLY = 3;
  private final Encoding encoding = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.O200K_BASE);

  /** Prompt tokens of the job's messages. */
  public long promptTokens(Job job) {
    long n = PER_REPLY;
    for (ChatMessage m : job.messages()) {
      n += PER_MESSAGE + encoding.countTokensOrdinary(m.text());
      if (m.name() != null) {
        n += encoding.countTokensOrdinary(m.name());
      }
    }
    return n;
  }
}
