package io.promptfleet.simulator.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.promptfleet.simulator.Fault;
import io.promptfleet.simulator.Fault.ErrorEventForm;
import io.promptfleet.simulator.FaultKind;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Every fault survives the trip through its directive text, whatever the surrounding prompt. */
class FaultDirectiveProperties {

  @Property
  void aFaultParsesBackFromItsDirective(@ForAll("faults") Fault fault) throws Exception {
    assertThat(Directives.parseOne(fault.toDirective())).isEqualTo(fault);
  }

  @Property(edgeCases = EdgeCasesMode.NONE) // the round-trip property above covers the faults' edge cases
  void aDirectiveIsFoundInsideAnyPromptWithoutBrackets(
      @ForAll("faults") Fault fault, @ForAll("prose") String before, @ForAll("prose") String after)
      throws Exception {
    assertThat(Directives.parse(before + fault.toDirective() + after)).containsExactly(fault);
  }

  @Provide
  Arbitrary<String> prose() {
    return Arbitraries.strings().withCharRange(' ', '~').excludeChars('[', ']').ofMaxLength(40).withoutEdgeCases();
  }

  @Provide
  Arbitrary<Fault> faults() {
    Arbitrary<Integer> after = Arbitraries.integers().between(0, 1000);
    Arbitrary<Fault> status = Combinators.combine(
            Arbitraries.integers().between(400, 599),
            // edge cases of the optional headers would multiply past the number of tries
            Arbitraries.longs().between(0, 100_000).injectNull(0.5).withoutEdgeCases(),
            Arbitraries.longs().between(0, 3600).injectNull(0.5).withoutEdgeCases(),
            Arbitraries.longs().between(0, 3600).injectNull(0.5).withoutEdgeCases(),
            Arbitraries.of(true, false))
        .as((code, ms, s, date, quota) -> {
          Fault f = Fault.status(code);
          if (ms != null) f = f.retryAfterMs(ms);
          if (s != null) f = f.retryAfterSeconds(s);
          if (date != null) f = f.retryAfterDate(date);
          return quota ? f.quota() : f;
        });
    Arbitrary<Fault> slow = Combinators.combine(
            Arbitraries.longs().between(0, 60_000).injectNull(0.3),
            Arbitraries.doubles().between(0, 10_000).ofScale(3).injectNull(0.3).withoutEdgeCases())
        .as((ttft, tps) -> {
          Fault f = Fault.slow();
          if (ttft != null) f = f.ttftMs(ttft);
          return tps == null ? f : f.tokensPerSecond(tps);
        });
    Arbitrary<Fault> base = Arbitraries.oneOf(
        status,
        Arbitraries.just(Fault.reset()),
        after.map(Fault::cut),
        after.map(Fault::stall),
        Combinators.combine(after, Arbitraries.of(ErrorEventForm.class)).as(Fault::errorEvent),
        Arbitraries.just(Fault.noDone()),
        after.map(Fault::badJson),
        Arbitraries.integers().between(1, Fault.MAX_GIANT_LINE_BYTES).map(Fault::giantLine),
        Arbitraries.integers().between(1, 100).map(Fault::keepalive),
        Arbitraries.just(Fault.crlf()),
        slow,
        answerShapes());
    return Combinators.combine(
            base,
            Arbitraries.integers().between(1, 1000).injectNull(0.5),
            Arbitraries.doubles().between(0, 1).ofScale(4).injectNull(0.5).withoutEdgeCases())
        .as((f, times, p) -> {
          Fault result = times == null ? f : f.times(times);
          return p == null ? result : result.probability(p);
        });
  }

  /** Every answer shape with arbitrary parameters; reply texts are any valid Unicode, brackets and spaces included. */
  Arbitrary<Fault> answerShapes() {
    Arbitrary<Fault> toolCalls = Combinators.combine(Arbitraries.integers().between(1, Fault.MAX_TOOL_CALLS),
            Arbitraries.integers().between(1, 10_000), Arbitraries.of(true, false))
        .as((n, split, text) -> text ? Fault.toolCalls(n).split(split).withText() : Fault.toolCalls(n).split(split));
    Arbitrary<Fault> reasoning = Combinators.combine(
            Arbitraries.integers().between(1, Fault.MAX_REASONING_TOKENS),
            Arbitraries.longs().between(0, 600_000).injectNull(0.4),
            Arbitraries.of(Fault.ReasoningField.class), Arbitraries.of(true, false))
        .as((tokens, ms, field, hidden) -> {
          Fault f = Fault.reasoning(tokens).field(field);
          f = ms == null ? f : f.reasoningMs(ms);
          return hidden ? f.hidden() : f;
        });
    Arbitrary<String> text = Arbitraries.strings().all().ofMinLength(1).ofMaxLength(60)
        .filter(s -> s.codePoints().noneMatch(c -> c >= 0xD800 && c <= 0xDFFF));
    Arbitrary<Fault> reply = Combinators.combine(text, Arbitraries.integers().between(1, 100))
        .as((t, chunk) -> Fault.reply(t).chunk(chunk));
    return Arbitraries.oneOf(toolCalls, Arbitraries.integers().between(1, 500).map(s -> Fault.functionCall().split(s)),
        reasoning, Arbitraries.just(Fault.refusal()), reply,
        Arbitraries.integers().between(0, Integer.MAX_VALUE).map(Fault::cached));
  }

  @Property(tries = 20)
  void everyKindHasADirectiveName(@ForAll FaultKind kind) {
    assertThat(FaultKind.fromDirectiveName(kind.directiveName().toUpperCase())).contains(kind);
  }
}
