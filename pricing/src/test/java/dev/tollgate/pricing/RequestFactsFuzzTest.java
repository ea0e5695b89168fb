package dev.tollgate.pricing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Fuzzes what Tollgate reads and rewrites in an agent's request body: {@link RequestFacts#scan}, then
 * {@link UsageInjection#inject} and {@link OutputCap#lower} on the bodies the proxy would hand them.
 * Seeds and kept findings: {@code src/test/resources/dev/tollgate/pricing/RequestFactsFuzzTestInputs/scanAndRewrite}.
 *
 * <p>What must hold for any body: scanning never throws, reads the same from a stream that gives one byte
 * at a time, and gives facts in range (an output cap that is positive or -1, 1 to 128 choices). A body
 * that needs usage injected either comes out of {@code inject} as a JSON object that asks for usage and
 * keeps its model and {@code stream} (its caps and choices too, when only a field was inserted), or the
 * injection fails with an exception the proxy catches (and the call is then counted). The same for
 * lowering the output cap: the lowered body is read back with the new cap.
 */
class RequestFactsFuzzTest {

    private static final long CAP = 77;

    @FuzzTest(maxDuration = "45s")
    void scanAndRewrite(byte[] body) {
        RequestFacts facts = RequestFacts.scan(new ByteArrayInputStream(body));
        assertEquals(facts, RequestFacts.scan(new Trickle(body)), "read one byte at a time");
        assertTrue(facts.outputCap() == -1 || facts.outputCap() > 0, () -> "output cap " + facts.outputCap());
        assertTrue(facts.choices() >= 1 && facts.choices() <= 128, () -> "choices " + facts.choices());
        if (!facts.validJson()) {
            assertEquals(RequestFacts.NOT_JSON, facts);
            return;
        }

        if (facts.needsUsageInjection(Endpoint.CHAT_COMPLETIONS)) {
            byte[] injected;
            try {
                injected = UsageInjection.inject(body, facts);
            } catch (IOException | RuntimeException e) {
                if (!facts.streamOptions()) {
                    throw new AssertionError("inserting the field cannot fail", e);
                }
                injected = null; // The proxy forwards the body as it was, and counts the call.
            }
            if (injected != null) {
                RequestFacts after = RequestFacts.scan(new ByteArrayInputStream(injected));
                assertTrue(after.validJson() && after.streamOptions() && after.includeUsage(),
                        () -> "the injected body does not ask for usage: " + after);
                assertEquals(facts.model(), after.model(), "injection changed the model");
                assertEquals(facts.stream(), after.stream(), "injection changed stream");
                if (!facts.streamOptions()) {
                    assertEquals(facts.outputCap(), after.outputCap(), "inserting the field changed the output cap");
                    assertEquals(facts.choices(), after.choices(), "inserting the field changed the choices");
                }
            }
        }

        for (Endpoint endpoint : new Endpoint[] {Endpoint.CHAT_COMPLETIONS, Endpoint.COMPLETIONS, Endpoint.RESPONSES}) {
            byte[] lowered;
            try {
                lowered = OutputCap.lower(body, endpoint, CAP);
            } catch (IOException | RuntimeException e) {
                continue; // The proxy forwards the body as it was; the reservation still bounds the call.
            }
            RequestFacts after = RequestFacts.scan(new ByteArrayInputStream(lowered));
            assertTrue(after.validJson(), "the lowered body is not a JSON object");
            assertEquals(CAP, after.outputCap(), "the lowered body does not carry the new cap");
            assertEquals(facts.model(), after.model(), "lowering the cap changed the model");
            assertEquals(facts.stream(), after.stream(), "lowering the cap changed stream");
        }
    }

    /** A stream that gives at most one byte per read, as a slow socket might. */
    private static final class Trickle extends InputStream {
        private final byte[] bytes;
        private int at;

        Trickle(byte[] bytes) {
            this.bytes = bytes;
        }

        @Override
        public int read() {
            return at < bytes.length ? bytes[at++] & 0xff : -1;
        }

        @Override
        public int read(byte[] into, int offset, int length) {
            if (length == 0) {
                return 0;
            }
            int b = read();
            if (b < 0) {
                return -1;
            }
            into[offset] = (byte) b;
            return 1;
        }
    }
}
