package dev.tollgate.pricing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class OutputCapTest {

    private static RequestFacts lowered(String body, Endpoint endpoint) throws IOException {
        byte[] out = OutputCap.lower(body.getBytes(StandardCharsets.UTF_8), endpoint, 77);
        return RequestFacts.scan(new ByteArrayInputStream(out));
    }

    @Test
    void lowersTheFieldTheRequestUsesOrAddsTheEndpointsOwn() throws IOException {
        assertThat(lowered("{\"model\":\"gpt-4o\",\"max_tokens\":4000}", Endpoint.CHAT_COMPLETIONS).outputCap()).isEqualTo(77);
        assertThat(lowered("{\"model\":\"gpt-4o\",\"stream\":true}", Endpoint.CHAT_COMPLETIONS))
                .extracting(RequestFacts::outputCap, RequestFacts::model, RequestFacts::stream)
                .containsExactly(77L, "gpt-4o", true);
        assertThat(new String(OutputCap.lower("{\"model\":\"o3\"}".getBytes(StandardCharsets.UTF_8), Endpoint.RESPONSES, 77),
                StandardCharsets.UTF_8)).isEqualTo("{\"model\":\"o3\",\"max_output_tokens\":77}");
    }

    @Test
    void refusesAnInvalidUtf8KeyRatherThanWriteJsonNoReaderAccepts() {
        // A fuzz finding: Jackson read the invalid key bytes as lone surrogates and wrote them back escaped.
        byte[] body = {'{', '"', 'm', 'a', 'x', '_', 'o', (byte) 0xf6, (byte) 0x93, (byte) 0x8a, (byte) 0x93, '"', ':', '1', '}'};
        assertThat(RequestFacts.scan(new ByteArrayInputStream(body)).validJson()).isTrue();
        assertThatThrownBy(() -> OutputCap.lower(body, Endpoint.CHAT_COMPLETIONS, 77)).isInstanceOf(IOException.class).hasMessageContaining("unpaired surrogate");
    }
}
