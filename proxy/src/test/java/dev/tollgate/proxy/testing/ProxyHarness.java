package dev.tollgate.proxy.testing;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import dev.tollgate.config.ConfigLoader;
import dev.tollgate.config.TollgateConfig;
import dev.tollgate.proxy.metering.CallRecord;
import dev.tollgate.proxy.server.TollgateServer;
import dev.tollgate.proxy.upstream.ProviderConnections;
import io.netty.handler.ssl.SslContext;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * A real Tollgate server on a free loopback port, configured from YAML text like a user's file, plus
 * agents that talk to it: the official OpenAI Java client and the JDK's HTTP client for raw bytes.
 */
public final class ProxyHarness implements AutoCloseable {

    private final TollgateServer server;
    private final java.nio.file.Path dir;
    private final BlockingQueue<CallRecord> calls;
    private final List<OpenAIClient> clients = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private ProxyHarness(TollgateServer server, java.nio.file.Path dir, BlockingQueue<CallRecord> calls) {
        this.server = server;
        this.dir = dir;
        this.calls = calls;
    }

    /** A proxy forwarding to {@code upstreamBaseUrl}, with extra YAML appended to the config. */
    public static ProxyHarness start(String upstreamBaseUrl, String extraYaml) throws Exception {
        return start(upstreamBaseUrl, extraYaml, null);
    }

    public static ProxyHarness start(String upstreamBaseUrl, String extraYaml, SslContext upstreamTls) throws Exception {
        return start(upstreamBaseUrl, extraYaml, upstreamTls, UnaryOperator.identity());
    }

    /** A proxy whose provider connections are wrapped by {@code providerConnections}, to put faults between. */
    public static ProxyHarness start(String upstreamBaseUrl, String extraYaml, SslContext upstreamTls,
            UnaryOperator<ProviderConnections> providerConnections) throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("tollgate-test");
        String yaml = "listen: 127.0.0.1:0\n" + extraYaml.replace("UPSTREAM", upstreamBaseUrl);
        if (!yaml.contains("storage:")) {
            yaml += "\nstorage:\n  path: " + dir.resolve("tollgate.db") + "\n";
        }
        if (!yaml.contains("upstream:")) {
            yaml += "\nupstream:\n  base_url: " + upstreamBaseUrl + "\n";
        }
        TollgateConfig config = new ConfigLoader(name -> null).parse(yaml);
        BlockingQueue<CallRecord> calls = new LinkedBlockingQueue<>();
        return new ProxyHarness(TollgateServer.start(config, upstreamTls, calls::add, providerConnections), dir, calls);
    }

    public TollgateServer server() {
        return server;
    }

    public String baseUrl() {
        return server.baseUrl();
    }

    public URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.address().getPort() + path);
    }

    /** The next call the proxy metered, waiting up to five seconds for it. */
    public CallRecord nextCall() throws InterruptedException {
        CallRecord call = calls.poll(5, TimeUnit.SECONDS);
        if (call == null) {
            throw new AssertionError("the proxy recorded no call within 5 s");
        }
        return call;
    }

    /** Waits for {@code n} calls and returns them. */
    public List<CallRecord> drainCallsAfter(int n) throws InterruptedException {
        List<CallRecord> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(nextCall());
        }
        return out;
    }

    /** Calls recorded and not yet taken. */
    public List<CallRecord> drainCalls() {
        List<CallRecord> out = new ArrayList<>();
        calls.drainTo(out);
        return out;
    }

    public HttpClient http() {
        return http;
    }

    /** The official client as an agent named {@code agent}, without retries so every call is seen once. */
    public OpenAIClient agent(String agent) {
        OpenAIOkHttpClient.Builder builder = OpenAIOkHttpClient.builder()
                .baseUrl(server.baseUrl())
                .apiKey("sk-agent-key")
                .maxRetries(0)
                .timeout(Duration.ofSeconds(20));
        if (agent != null) {
            builder.putHeader("X-Agent-Id", agent).putHeader("X-Intent-Id", "int_" + agent);
        }
        OpenAIClient client = builder.build();
        clients.add(client);
        return client;
    }

    @Override
    public void close() {
        clients.forEach(OpenAIClient::close);
        server.close();
        try (var files = java.nio.file.Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (java.io.IOException ignored) {
            // A temp directory left behind is harmless.
        }
    }
}
