package io.promptfleet.worker.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ConnectException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ConnectWarningsTest {

  @Test
  void shouldWarnAtOnceThenSummariseAtMostOncePerPeriod() {
    AtomicLong now = new AtomicLong(1_000);
    List<String> warned = new ArrayList<>();
    ConnectWarnings w = new ConnectWarnings("openai", 30_000, now::get, warned::add);
    ConnectFailure refused = new ConnectFailure(ConnectFailure.REFUSED, false, new ConnectException("refused"));
    ConnectFailure overloaded = new ConnectFailure(ConnectFailure.TIMEOUT, true, new ConnectException("timed out"));

    w.failed(refused, 0);
    for (int i = 0; i < 999; i++) {
      now.addAndGet(10);
      w.failed(i % 3 == 0 ? refused : overloaded, 40);
    }
    assertThat(warned).as("the first at once, then nothing for 30 s").hasSize(1);
    assertThat(warned.get(0)).contains("provider openai").contains("refused=1").contains("since start");
    assertThat(w.suppressed()).isEqualTo(999);
    now.addAndGet(30_000);
    w.failed(overloaded, 40);

    assertThat(warned).hasSize(2);
    assertThat(warned.get(1)).contains("refused=333").contains("timeout (worker overloaded)=667")
        .contains("40 requests waiting").contains("max_pending_connects").contains("the last warning 39 s ago");
    assertThat(w.suppressed()).isZero();
  }
}
