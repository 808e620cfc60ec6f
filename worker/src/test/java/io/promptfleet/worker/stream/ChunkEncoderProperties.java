package io.promptfleet.worker.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.common.codec.Json;
import io.promptfleet.common.job.Chunk;
import io.promptfleet.common.job.Reply;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

class ChunkEncoderProperties {

  @Property
  void shouldWriteWhatJacksonWritesForAnyTextIncludingControlAndNonAsciiCharacters(@ForAll String jobId,
      @ForAll @IntRange(min = 1, max = 1000) int attempt, @ForAll @LongRange(min = 0) long seq,
      @ForAll String delta) {
    byte[] ours = new ChunkEncoder(jobId, attempt).encode(seq, delta);

    assertThat(Json.read(ours, Reply.class)).isEqualTo(new Chunk(jobId, attempt, seq, delta, null));
    assertThat(new String(ours, java.nio.charset.StandardCharsets.UTF_8))
        .isEqualTo(Json.string(new Chunk(jobId, attempt, seq, delta, null)));
  }
}
