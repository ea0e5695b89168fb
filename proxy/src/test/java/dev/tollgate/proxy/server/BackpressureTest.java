package dev.tollgate.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.proxy.testing.Progress;
import dev.tollgate.proxy.testing.ProxyHarness;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import mockwebserver3.MockResponse;
import mockwebserver3.MockResponseBody;
import mockwebserver3.MockWebServer;
import okio.BufferedSink;
import org.junit.jupiter.api.Test;

/**
 * A slow agent slows the provider instead of filling the proxy's heap: while the agent reads nothing,
 * the provider can only get as far as the socket buffers and the proxy's small write buffer allow.
 */
class BackpressureTest {

    private static final int CHUNK = 64 * 1024;
    private static final long TOTAL = 256L * 1024 * 1024;

    @Test
    void aStalledAgentStallsTheProvider() throws Exception {
        AtomicLong providerWrote = new AtomicLong();
        byte[] payload = new byte[CHUNK];
        java.util.Arrays.fill(payload, (byte) 'x');
        try (MockWebServer provider = new MockWebServer()) {
            provider.start();
            provider.enqueue(new MockResponse.Builder()
                    .addHeader("Content-Type", "application/octet-stream")
                    .body(new MockResponseBody() {
                        @Override
                        public long getContentLength() {
                            return TOTAL;
                        }

                        @Override
                        public void writeTo(BufferedSink sink) throws IOException {
                            for (long sent = 0; sent < TOTAL; sent += CHUNK) {
                                sink.write(payload);
                                sink.flush();
                                providerWrote.addAndGet(CHUNK);
                            }
                        }
                    })
                    .build());
            try (ProxyHarness proxy = ProxyHarness.start(provider.url("/v1").toString(), "");
                    Socket agent = new Socket("127.0.0.1", proxy.server().address().getPort())) {
                agent.setReceiveBufferSize(64 * 1024);
                agent.getOutputStream().write(("GET /v1/files/big/content HTTP/1.1\r\nHost: t\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));

                long stalledAt = Progress.waitUntilStable(providerWrote);

                assertThat(stalledAt).as("bytes the provider could send to a stalled agent").isLessThan(TOTAL / 4);
                assertThat(drain(agent.getInputStream())).isEqualTo(TOTAL);
                assertThat(providerWrote.get()).isEqualTo(TOTAL);
            }
        }
    }

    /** Reads the response head and the whole body, and returns the body's length. */
    private static long drain(InputStream in) throws IOException {
        byte[] buf = new byte[256 * 1024];
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            head.append((char) in.read());
        }
        assertThat(head.toString()).startsWith("HTTP/1.1 200 ");
        long body = 0;
        while (body < TOTAL) {
            int n = in.read(buf);
            if (n < 0) {
                break;
            }
            body += n;
        }
        return body;
    }

}
