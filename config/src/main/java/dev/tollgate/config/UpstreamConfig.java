package dev.tollgate.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.net.URI;
import java.net.URISyntaxException;

/**
 * The provider every {@code /v1/*} call is forwarded to. {@code base_url} is written like an OpenAI base
 * URL, {@code /v1} included: {@code /v1/chat/completions} goes to {@code base_url + /chat/completions}.
 *
 * @param apiKey when set, replaces the agent's {@code Authorization} on the way out
 * @param http2 when true, calls go to the provider as streams of a few shared HTTP/2 connections
 *     (ALPN {@code h2} over https, prior knowledge over http) instead of one HTTP/1.1 connection each
 */
public record UpstreamConfig(
        @JsonProperty("base_url") URI baseUrl,
        @JsonProperty("api_key") String apiKey,
        @JsonProperty("connect_timeout_ms") long connectTimeoutMs,
        @JsonProperty("response_timeout_ms") long responseTimeoutMs,
        @JsonProperty("http2") boolean http2) {

    public static final URI DEFAULT_BASE_URL = URI.create("https://api.openai.com/v1");
    public static final long DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
    public static final long DEFAULT_RESPONSE_TIMEOUT_MS = 600_000;

    public static final UpstreamConfig DEFAULTS =
            new UpstreamConfig(DEFAULT_BASE_URL, null, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_RESPONSE_TIMEOUT_MS, false);

    public UpstreamConfig {
        baseUrl = normalise(baseUrl == null ? DEFAULT_BASE_URL : baseUrl);
        if (apiKey != null && apiKey.isBlank()) {
            apiKey = null;
        }
        if (apiKey != null && apiKey.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw new InvalidValueException("api_key", "must not contain control characters");
        }
        if (connectTimeoutMs <= 0) {
            throw new InvalidValueException("connect_timeout_ms", "must be > 0");
        }
        if (responseTimeoutMs <= 0) {
            throw new InvalidValueException("response_timeout_ms", "must be > 0");
        }
    }

    @JsonCreator
    static UpstreamConfig fromYaml(
            @JsonProperty("base_url") URI baseUrl,
            @JsonProperty("api_key") String apiKey,
            @JsonProperty("connect_timeout_ms") Long connectTimeoutMs,
            @JsonProperty("response_timeout_ms") Long responseTimeoutMs,
            @JsonProperty("http2") Boolean http2) {
        return new UpstreamConfig(
                baseUrl,
                apiKey,
                connectTimeoutMs == null ? DEFAULT_CONNECT_TIMEOUT_MS : connectTimeoutMs,
                responseTimeoutMs == null ? DEFAULT_RESPONSE_TIMEOUT_MS : responseTimeoutMs,
                http2 != null && http2);
    }

    /** True when the provider is reached over TLS. */
    public boolean tls() {
        return "https".equals(baseUrl.getScheme());
    }

    /** The port to connect to, the scheme's default when the URL names none. */
    public int port() {
        return baseUrl.getPort() != -1 ? baseUrl.getPort() : tls() ? 443 : 80;
    }

    /** The {@code Host} header value for the provider: the port only when it is not the scheme's default. */
    public String hostHeader() {
        return baseUrl.getPort() == -1 ? baseUrl.getHost() : baseUrl.getHost() + ":" + baseUrl.getPort();
    }

    /** The base path without a trailing slash ({@code /v1}), or the empty string. */
    public String basePath() {
        return baseUrl.getRawPath();
    }

    private static URI normalise(URI uri) {
        String scheme = uri.getScheme();
        if (!"http".equals(scheme) && !"https".equals(scheme)) {
            throw new InvalidValueException("base_url", "must start with http:// or https://, got '" + uri + "'");
        }
        if (uri.getHost() == null) {
            throw new InvalidValueException("base_url", "has no host: '" + uri + "'");
        }
        if (uri.getPort() == 0 || uri.getPort() > 65_535) {
            throw new InvalidValueException("base_url", "has a port outside 1-65535: '" + uri + "'");
        }
        if (uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
            throw new InvalidValueException("base_url", "must not carry user info, a query or a fragment: '" + uri + "'");
        }
        String path = uri.getRawPath() == null ? "" : uri.getRawPath();
        while (path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        try {
            return new URI(scheme, null, uri.getHost(), uri.getPort(), path.isEmpty() ? null : path, null, null);
        } catch (URISyntaxException e) {
            throw new InvalidValueException("base_url", e.getMessage());
        }
    }
}
