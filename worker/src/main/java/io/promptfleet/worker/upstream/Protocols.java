package io.promptfleet.worker.upstream;

import io.promptfleet.common.config.ProviderProtocol;

/** The one instance of each {@link UpstreamProtocol}, by its configuration name. */
public final class Protocols {
  private static final UpstreamProtocol OPENAI = new OpenAiChat();
  private static final UpstreamProtocol AZURE_OPENAI = new AzureOpenAi();

  private Protocols() {}

  public static UpstreamProtocol of(ProviderProtocol protocol) {
    return switch (protocol) {
      case OPENAI -> OPENAI;
      case AZURE_OPENAI -> AZURE_OPENAI;
      case ANTHROPIC, OPENAI_RESPONSES -> throw new UnsupportedOperationException(
          "protocol " + protocol.wireName() + " is not built yet");
    };
  }
}
