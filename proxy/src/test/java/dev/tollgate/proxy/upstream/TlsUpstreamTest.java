package dev.tollgate.proxy.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.proxy.testing.ProxyHarness;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import okhttp3.tls.HandshakeCertificates;
import okhttp3.tls.HeldCertificate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An https provider: the proxy verifies the certificate chain and that it names the host in
 * {@code base_url}; a certificate for another name is refused with a 502, never trusted.
 */
class TlsUpstreamTest {

    private final HeldCertificate authority = new HeldCertificate.Builder().certificateAuthority(0).build();
    private MockWebServer provider;

    @BeforeEach
    void start() throws Exception {
        provider = new MockWebServer();
    }

    @AfterEach
    void stop() {
        provider.close();
    }

    private void serveCertificateFor(String name) throws Exception {
        HeldCertificate certificate = new HeldCertificate.Builder()
                .addSubjectAlternativeName(name).signedBy(authority).build();
        provider.useHttps(new HandshakeCertificates.Builder().heldCertificate(certificate).build().sslSocketFactory());
        provider.start();
    }

    private SslContext trustingTheTestAuthority() throws Exception {
        return SslContextBuilder.forClient().trustManager(authority.certificate()).build();
    }

    private HttpResponse<String> call(ProxyHarness proxy) throws Exception {
        return proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v1/models")).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void forwardsOverTlsWhenTheCertificateNamesTheHost() throws Exception {
        serveCertificateFor("localhost");
        provider.enqueue(new MockResponse.Builder().body("{\"object\":\"list\",\"data\":[]}").build());
        String baseUrl = "https://localhost:" + provider.getPort() + "/v1";

        try (ProxyHarness proxy = ProxyHarness.start(baseUrl, "", trustingTheTestAuthority())) {
            HttpResponse<String> response = call(proxy);

            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).isEqualTo("{\"object\":\"list\",\"data\":[]}");
            assertThat(provider.takeRequest(5, TimeUnit.SECONDS).getHandshake()).isNotNull();
        }
    }

    @Test
    void refusesACertificateForAnotherHostWith502() throws Exception {
        serveCertificateFor("api.other-provider.example");
        String baseUrl = "https://localhost:" + provider.getPort() + "/v1";

        try (ProxyHarness proxy = ProxyHarness.start(baseUrl, "", trustingTheTestAuthority())) {
            HttpResponse<String> response = call(proxy);

            assertThat(response.statusCode()).isEqualTo(502);
            assertThat(response.body()).contains("upstream_unavailable").contains("TLS");
        }
    }

    @Test
    void refusesAnUntrustedCertificateWith502() throws Exception {
        serveCertificateFor("localhost");
        String baseUrl = "https://localhost:" + provider.getPort() + "/v1";

        // The default context trusts the JVM's CAs only, which never signed the test authority.
        try (ProxyHarness proxy = ProxyHarness.start(baseUrl, "", null)) {
            HttpResponse<String> response = call(proxy);

            assertThat(response.statusCode()).isEqualTo(502);
            assertThat(response.body()).contains("TLS");
        }
    }
}
