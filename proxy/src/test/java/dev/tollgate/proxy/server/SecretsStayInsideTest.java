package dev.tollgate.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import dev.tollgate.proxy.testing.ProxyHarness;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Prompts, responses and keys stay where they belong: with every logger of the proxy at TRACE, across
 * plain, streamed, failed and refused calls, no log line, ledger page or agent-facing header carries a
 * prompt, a response, the provider's key or an agent's key; the provider gets the provider key, never
 * the agent's.
 */
class SecretsStayInsideTest {

    private static final String PROVIDER_KEY = "sk-provider-CANARY-0001";
    private static final String AGENT_KEY = "tg-agent-CANARY-0002";
    private static final String PROMPT = "PROMPT-CANARY-0003";
    private static final String ANSWER = "RESPONSE-CANARY-0004";
    private static final List<String> SECRETS = List.of(PROVIDER_KEY, AGENT_KEY, PROMPT, ANSWER);

    @TempDir
    Path dir;
    private MockWebServer provider;
    private ProxyHarness proxy;
    private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
    private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    private final Logger tollgate = (Logger) LoggerFactory.getLogger("dev.tollgate");
    private final Logger netty = (Logger) LoggerFactory.getLogger("io.netty");
    private Level tollgateLevel;
    private Level nettyLevel;

    @BeforeEach
    void start() throws Exception {
        tollgateLevel = tollgate.getLevel();
        nettyLevel = netty.getLevel();
        tollgate.setLevel(Level.TRACE);
        netty.setLevel(Level.DEBUG);
        logs.start();
        root.addAppender(logs);
        provider = new MockWebServer();
        provider.start();
        proxy = ProxyHarness.start(provider.url("/v1").toString(), """
                upstream:
                  base_url: UPSTREAM
                  api_key: %s
                storage:
                  path: %s
                agents:
                  keyed-agent:
                    api_key: %s
                """.formatted(PROVIDER_KEY, dir.resolve("ledger.db"), AGENT_KEY));
    }

    @AfterEach
    void stop() {
        proxy.close();
        provider.close();
        root.detachAppender(logs);
        tollgate.setLevel(tollgateLevel);
        netty.setLevel(nettyLevel);
    }

    private HttpResponse<String> call(String body) throws Exception {
        return proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                        .header("Authorization", "Bearer " + AGENT_KEY).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void noPromptResponseOrKeyLeavesThroughLogsLedgerOrHeaders() throws Exception {
        String prompt = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"" + PROMPT + "\"}]";
        String completion = "{\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\""
                + ANSWER + "\"}}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":4}}";
        provider.enqueue(new MockResponse.Builder().addHeader("Content-Type", "application/json").body(completion).build());
        provider.enqueue(new MockResponse.Builder().addHeader("Content-Type", "text/event-stream")
                .body("data: {\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + ANSWER + "\"}}]}\n\n"
                        + "data: [DONE]\n\n").build());
        provider.enqueue(new MockResponse.Builder().code(500).addHeader("Content-Type", "application/json")
                .body("{\"error\":{\"message\":\"" + ANSWER + " and " + PROVIDER_KEY + "\"}}").build());

        List<HttpResponse<String>> responses = new ArrayList<>();
        responses.add(call(prompt + "}"));
        responses.add(call(prompt + ",\"stream\":true}"));
        responses.add(call(prompt + "}"));
        responses.add(call(prompt));  // not JSON: refused by Tollgate
        responses.add(call("{\"model\":\"no-such-model\",\"messages\":[{\"role\":\"user\",\"content\":\"" + PROMPT + "\"}]}"));
        assertThat(responses).extracting(HttpResponse::statusCode).containsExactly(200, 200, 500, 400, 400);
        assertThat(proxy.drainCallsAfter(5)).allSatisfy(call -> assertThat(call.agent()).isEqualTo("keyed-agent"));

        for (int i = 0; i < 3; i++) {
            RecordedRequest seen = provider.takeRequest();
            assertThat(seen.getHeaders().get("Authorization")).isEqualTo("Bearer " + PROVIDER_KEY);
            assertThat(seen.getHeaders().toString()).doesNotContain(AGENT_KEY);
        }
        for (HttpResponse<String> response : responses) {
            assertThat(response.headers().map().toString()).doesNotContain(PROVIDER_KEY).doesNotContain(AGENT_KEY);
        }

        assertThat(proxy.server().ledger().flush(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        StringBuilder logged = new StringBuilder();
        for (ILoggingEvent event : List.copyOf(logs.list)) {
            logged.append(event.getFormattedMessage()).append('\n');
            if (event.getThrowableProxy() != null) {
                logged.append(ThrowableProxyUtil.asString(event.getThrowableProxy())).append('\n');
            }
        }
        assertThat(logs.list).as("the test must see the proxy's log").isNotEmpty();
        for (String secret : SECRETS) {
            assertThat(logged.toString()).as("log lines").doesNotContain(secret);
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.toList()) {
                String bytes = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
                for (String secret : SECRETS) {
                    assertThat(bytes).as("ledger file %s", file.getFileName()).doesNotContain(secret);
                }
            }
        }
    }
}
