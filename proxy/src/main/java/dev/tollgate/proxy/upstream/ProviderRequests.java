package dev.tollgate.proxy.upstream;

import dev.tollgate.config.IdentityConfig;
import dev.tollgate.config.UpstreamConfig;
import dev.tollgate.proxy.http.HopByHopHeaders;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpVersion;

/**
 * Turns an agent's request into the request the provider receives: {@code /v1/X} becomes
 * {@code base_url + /X}, hop-by-hop and Tollgate's own headers are dropped, {@code Host} names the
 * provider, and {@code upstream.api_key}, when set, replaces the agent's credentials.
 */
public final class ProviderRequests {

    /** The prefix agents put in front of every API path ({@code OPENAI_BASE_URL=http://HOST:PORT/v1}). */
    public static final String AGENT_PREFIX = "/v1";

    private final UpstreamConfig upstream;
    private final IdentityConfig identity;
    private final String bearer;

    public ProviderRequests(UpstreamConfig upstream, IdentityConfig identity) {
        this.upstream = upstream;
        this.identity = identity;
        this.bearer = upstream.apiKey() == null ? null : "Bearer " + upstream.apiKey();
    }

    /**
     * The provider's request. It takes over the agent request's body: the caller must not release
     * {@code agentRequest}'s content afterwards, only the returned request (which writing does).
     */
    public FullHttpRequest toProvider(FullHttpRequest agentRequest) {
        FullHttpRequest out = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, agentRequest.method(),
                providerUri(agentRequest.uri()), agentRequest.content());
        HttpHeaders headers = out.headers();
        headers.set(agentRequest.headers());
        HopByHopHeaders.strip(headers);
        headers.remove(identity.agentHeader());
        headers.remove(identity.intentHeader());
        // The aggregator answered any Expect: 100-continue already; the body is here whole.
        headers.remove(HttpHeaderNames.EXPECT);
        headers.set(HttpHeaderNames.HOST, upstream.hostHeader());
        headers.setInt(HttpHeaderNames.CONTENT_LENGTH, out.content().readableBytes());
        if (bearer != null) {
            headers.set(HttpHeaderNames.AUTHORIZATION, bearer);
        }
        return out;
    }

    /** {@code /v1/chat/completions?x=1} to {@code <base path>/chat/completions?x=1}. */
    String providerUri(String agentUri) {
        String rest = agentUri.substring(AGENT_PREFIX.length());
        String path = upstream.basePath() + rest;
        if (path.isEmpty() || path.charAt(0) == '?') {
            path = "/" + path;
        }
        return path;
    }
}
