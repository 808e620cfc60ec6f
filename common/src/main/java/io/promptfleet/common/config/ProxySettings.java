package io.promptfleet.common.config;

/**
 * An HTTP(S) proxy a worker tunnels its provider connections through (HTTP CONNECT).
 *
 * @param url         {@code http://host:port} (or {@code https://}); credentials do not belong here
 * @param usernameEnv environment variable (or system property) holding the proxy user name, optional
 * @param passwordEnv environment variable (or system property) holding the proxy password, optional
 */
public record ProxySettings(String url, String usernameEnv, String passwordEnv) {

  void validate(String at) {
    ConfigException.require(url != null && (url.startsWith("http://") || url.startsWith("https://")),
        at + ".url must be an http:// or https:// URL");
    ConfigException.require(!url.substring(url.indexOf("//") + 2).contains("@"),
        at + ".url must not hold credentials: use username_env and password_env");
  }
}
