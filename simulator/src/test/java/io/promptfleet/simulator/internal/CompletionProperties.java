package io.promptfleet.simulator.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.OptionalInt;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** The deterministic completion: length, finish reason and word framing for any prompt and limits. */
class CompletionProperties {

  @Property
  void lengthIsTheNaturalLengthCutByMaxTokens(
      @ForAll String prompt, @ForAll @IntRange(max = 300) int natural, @ForAll @IntRange(min = 1, max = 400) int max) {
    Completion limited = Completion.of(prompt, natural, OptionalInt.of(max), 1);
    Completion unlimited = Completion.of(prompt, natural, OptionalInt.empty(), 1);

    assertThat(limited.completionTokens()).isEqualTo(Math.min(natural, max));
    assertThat(limited.finishReason()).isEqualTo(max < natural ? "length" : "stop");
    assertThat(unlimited.completionTokens()).isEqualTo(natural);
    assertThat(unlimited.finishReason()).isEqualTo("stop");
    assertThat(unlimited.content()).startsWith(limited.content());
  }

  @Property
  void oneWordPerTokenTheFirstWithoutLeadingSpace(@ForAll String prompt, @ForAll @IntRange(min = 1, max = 200) int n) {
    Completion completion = Completion.of(prompt, n, OptionalInt.empty(), 7);

    assertThat(completion.tokens().get(0)).matches("[a-z]+");
    assertThat(completion.tokens().subList(1, n)).allSatisfy(t -> assertThat(t).matches(" [a-z]+"));
    assertThat(completion.content()).isEqualTo(String.join("", completion.tokens()));
    assertThat(completion.totalTokens()).isEqualTo(7 + n);
  }

  @Property
  void samePromptSameWords(@ForAll String prompt, @ForAll @IntRange(max = 100) int n) {
    assertThat(Completion.of(prompt, n, OptionalInt.empty(), 1))
        .isEqualTo(Completion.of(new String(prompt.toCharArray()), n, OptionalInt.empty(), 1));
  }
}
