package io.promptfleet.common.config;

import java.util.Map;

/**
 * An HTTP proxy a worker sends its provider connections through: {@code https://} providers through a CONNECT
 * tunnel (TLS end to end), {@code http://} providers as absolute-URI requests to the proxy.
 *
 * @param url         {@code http://host:port}; credentials do not belong here
 * @param usernameEnv environment variable (or system property) holding the proxy user name, optional
 * @param passwordEnv environment variable (or system property) holding the proxy password, optional
 */
public record ProxySettings(String url, String usernameEnv, String passwordEnv) {

  void validate(String at) {
    ConfigException.require(url != null && url.startsWith("http://"), at + ".url must be an http://host:port URL"
        + (url != null && url.startsWith("https://") ? " (the worker speaks plain HTTP to the proxy and tunnels TLS"
        + " to the provider through it with CONNECT; a TLS connection to the proxy itself is not supported)" : ""));
    ConfigException.require(!url.substring(url.indexOf("//") + 2).contains("@"),
        at + ".url must not hold credentials: use username_env and password_env");
    int port;
    try {
      port = port();
    } catch (IllegalArgumentException e) {
      throw new ConfigException(at + ".url is not a URL: " + e.getMessage());
    }
    ConfigException.require(host() != null && port > 0,
        at + ".url must name the proxy's host and port, e.g. http://proxy.internal:3128");
    ConfigException.require(passwordEnv == null || usernameEnv != null, at + ".password_env needs username_env");
    ConfigException.require(usernameEnv == null || !usernameEnv.isBlank(), at + ".username_env must not be empty");
    ConfigException.require(passwordEnv == null || !passwordEnv.isBlank(), at + ".password_env must not be empty");
  }

  /**
   * The user name and password from {@code username_env} / {@code password_env}: null when the proxy takes no
   * credentials.
   *
   * @throws ConfigException naming the variable (never a value) when a configured variable is not set
   */
  public Credentials credentials(String at, Map<String, String> env) {
    if (usernameEnv == null) {
      return null;
    }
    String user = EnvValues.require(env, usernameEnv, at + ".username_env");
    String password = passwordEnv == null ? "" : EnvValues.require(env, passwordEnv, at + ".password_env");
    return new Credentials(user, password);
  }

  /** Proxy credentials; {@link #toString()} hides the password. */
  public record Credentials(String username, String password) {
    @Override
    public String toString() {
      return "Credentials[" + username + ", password=***]";
    }
  }

  /** The proxy's host name or address. */
  public String host() {
    return java.net.URI.create(url).getHost();
  }

  /** The proxy's port, or -1 when the URL names none. */
  public int port() {
    return java.net.URI.create(url).getPort();
  }
}
