package io.promptfleet.worker.upstream;

import io.promptfleet.common.config.ProviderProtocol;

/** The one instance of each {@link UpstreamProtocol}, by its configuration name. */
public final class Protocols {
  private static final UpstreamProtocol OPENAI = new OpenAiChat();
  private static final UpstreamProtocol OPENAI_RESPONSES = new OpenAiResponses();
  private static final UpstreamProtocol ANTHROPIC = new AnthropicMessages();

  private Protocols() {}

  public static UpstreamProtocol of(ProviderProtocol protocol) {
    return switch (protocol) {
      case OPENAI -> OPENAI;
      case OPENAI_RESPONSES -> OPENAI_RESPONSES;
      case ANTHROPIC -> ANTHROPIC;
      case AZURE_OPENAI -> throw new UnsupportedOperationException(
          "protocol " + protocol.wireName() + " is not built yet");
    };
  }
}
