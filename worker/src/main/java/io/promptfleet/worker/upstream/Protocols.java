package io.promptfleet.worker.upstream;

import io.promptfleet.common.config.ProviderProtocol;

/** The one instance of each {@link UpstreamProtocol}, by its configuration name. */
public final class Protocols {
  private static final UpstreamProtocol OPENAI = new OpenAiChat();
  private static final UpstreamProtocol AZURE_OPENAI = new AzureOpenAi();
  private static final UpstreamProtocol ANTHROPIC = new AnthropicMessages();
  private static final UpstreamProtocol OPENAI_RESPONSES = new OpenAiResponses();

  private Protocols() {}

  public static UpstreamProtocol of(ProviderProtocol protocol) {
    return switch (protocol) {
      case OPENAI -> OPENAI;
      case AZURE_OPENAI -> AZURE_OPENAI;
      case ANTHROPIC -> ANTHROPIC;
      case OPENAI_RESPONSES -> OPENAI_RESPONSES;
    };
  }
}
