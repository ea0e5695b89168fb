package dev.tollgate.proxy.admission;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.config.BreachAction;
import dev.tollgate.config.LoopDetectionConfig;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class LoopDetectorTest {

    private static InputStream body(String json) {
        return new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void theSameRequestIsRecognisedWhateverItsWhitespace() {
        String compact = "{\"model\":\"gpt-4o\",\"temperature\":0.2,\"messages\":[{\"role\":\"user\",\"content\":\"go\"}]}";
        String spaced = "{ \"model\" : \"gpt-4o\",\n \"temperature\": 0.9,\n \"messages\" : [ { \"role\":\"user\", \"content\":\"go\" } ] }";

        assertThat(LoopDetector.fingerprint(body(compact))).isEqualTo(LoopDetector.fingerprint(body(spaced)));
        assertThat(LoopDetector.fingerprint(body(compact.replace("go", "stop")))).isNotEqualTo(LoopDetector.fingerprint(body(compact)));
        assertThat(LoopDetector.fingerprint(body("not json"))).isEqualTo("not-json");
    }

    @Test
    void repeatsPastTheAllowedCountAreLoopsUntilTheWindowHasRoom() {
        LoopDetector detector = new LoopDetector(new LoopDetectionConfig(2, 60, BreachAction.BLOCK));
        String request = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"retry\"}]}";

        assertThat(detector.check("a", body(request), 0)).isNull();
        assertThat(detector.check("a", body(request), 1_000)).isNull();
        LoopDetector.Loop third = detector.check("a", body(request), 2_000);
        LoopDetector.Loop fourth = detector.check("a", body(request), 3_000);
        assertThat(third.block()).isTrue();
        assertThat(third.firstReport()).isTrue();
        assertThat(fourth.firstReport()).as("one loop event per loop").isFalse();
        assertThat(third.refusal("a").resetsAtMs()).isEqualTo(60_000);
        assertThat(detector.check("b", body(request), 3_000)).as("another agent's calls are its own").isNull();
        assertThat(detector.check("a", body(request), 62_500)).as("the window moved on").isNull();
    }
}
