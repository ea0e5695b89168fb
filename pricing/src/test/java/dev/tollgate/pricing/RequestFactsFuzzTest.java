package dev.tollgate.pricing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.DictionaryFile;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;

/**
 * Fuzzes what Tollgate reads and rewrites in an agent's request body: {@link RequestFacts#scan}, then
 * {@link UsageInjection#inject} and {@link OutputCap#lower} on the bodies the proxy would hand them.
 * Seeds and kept findings: {@code src/test/resources/dev/tollgate/pricing/RequestFactsFuzzTestInputs/scanAndRewrite}.
 *
 * <p>What must hold for any body: scanning never throws, gives the same facts from a stream that gives one
 * byte at a time (for valid UTF-8), and gives facts in range (an output cap that is positive or -1, 1 to 128 choices). For a body
 * that is one JSON object without repeated keys, the facts are those a whole-tree reading gives. The
 * rewrites are checked on valid UTF-8, the only bodies the proxy hands them (it refuses the others first;
 * the {@code crash-*} inputs, rewrites of invalid UTF-8 that once wrote back lone surrogates, now check the
 * scan alone, and {@code JsonBodies} still refuses them). A body of valid UTF-8
 * that needs usage injected either comes out of {@code inject} as a JSON object that asks for usage and
 * keeps its model and {@code stream} (its caps and choices too, when only a field was inserted), or, for a
 * body that already has {@code stream_options}, the injection fails with an exception the proxy catches
 * (and the call is then counted). The same for
 * lowering the output cap: the lowered body is read back with the new cap.
 */
class RequestFactsFuzzTest {

    private static final long CAP = 77;
    private static final ObjectMapper STRICT = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);

    // Pieces of the format, so that mutations make structure and not only noise. (A file: Jazzer 0.24 writes inline entries with raw line breaks, which libFuzzer rejects.)
    @DictionaryFile(resourcePath = "RequestFactsFuzzTest.dict")
    @FuzzTest(maxDuration = "45s")
    void scanAndRewrite(byte[] body) {
        RequestFacts facts = RequestFacts.scan(new ByteArrayInputStream(body));
        if (isValidUtf8(body)) {
            // Invalid UTF-8 keys are read differently by Jackson's fast and slow paths (see fromTree).
            assertEquals(facts, RequestFacts.scan(new Trickle(body)), "read one byte at a time");
        }
        assertTrue(facts.outputCap() == -1 || facts.outputCap() > 0, () -> "output cap " + facts.outputCap());
        assertTrue(facts.choices() >= 1 && facts.choices() <= 128, () -> "choices " + facts.choices());
        RequestFacts expected = fromTree(body);
        if (expected != null) {
            assertEquals(expected, facts, "the scan disagrees with the whole tree");
        }
        if (!facts.validJson()) {
            assertEquals(RequestFacts.NOT_JSON, facts);
            return;
        }
        if (!isValidUtf8(body)) {
            // The proxy refuses such a body before it reads or rewrites it: on invalid UTF-8 in a key, the
            // facts and a rewrite (separate Jackson factories) could read it differently (see UntrustedJson).
            return;
        }

        if (facts.needsUsageInjection(Endpoint.CHAT_COMPLETIONS)) {
            byte[] injected;
            try {
                injected = UsageInjection.inject(body, facts);
            } catch (IOException | RuntimeException e) {
                if (!facts.streamOptions()) {
                    throw new AssertionError("adding stream_options to a body without it cannot fail", e);
                }
                injected = null; // The proxy forwards the body as it was, and counts the call.
            }
            if (injected != null) {
                RequestFacts after = RequestFacts.scan(new ByteArrayInputStream(injected));
                assertTrue(after.validJson() && after.streamOptions() && after.includeUsage(),
                        () -> "the injected body does not ask for usage: " + after);
                assertEquals(facts.model(), after.model(), "injection changed the model");
                assertEquals(facts.stream(), after.stream(), "injection changed stream");
                if (isInsertion(body, injected)) {
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

    /**
     * The facts read from the whole tree, for a body that is exactly one JSON object in valid UTF-8 with no
     * key twice in any object; null for any other body. A count too large for the scan's number type makes
     * it NOT_JSON.
     *
     * <p>Why valid UTF-8 only: Jackson pads a key's last 4-byte group with 0xFF bytes in its table of known
     * keys, so once a parser factory has seen "_on", it reads the invalid key "\xff_on" as "_on" without an
     * error, and two factories that have seen different keys disagree (input {@code invalid-utf8-key.json}), as do
     * its fast and slow paths (a key cut by the end of a read: {@code invalid-utf8-key-read-byte-by-byte.json}).
     */
    static RequestFacts fromTree(byte[] body) {
        if (!isValidUtf8(body)) {
            return null;
        }
        JsonNode tree;
        try {
            tree = STRICT.readTree(body);
        } catch (IOException | RuntimeException e) {
            return null;
        }
        if (tree == null || !tree.isObject()) {
            return null;
        }
        String model = tree.path("model").isTextual() ? tree.get("model").textValue() : null;
        boolean stream = tree.path("stream").isBoolean() && tree.get("stream").booleanValue();
        JsonNode options = tree.get("stream_options");
        boolean includeUsage = options != null && options.isObject() && options.path("include_usage").isBoolean()
                && options.get("include_usage").booleanValue();
        long outputCap = -1;
        int choices = 1;
        for (Map.Entry<String, JsonNode> field : tree.properties()) {
            JsonNode value = field.getValue();
            switch (field.getKey()) {
                case "max_tokens", "max_completion_tokens", "max_output_tokens" -> {
                    if (value.isIntegralNumber() && !value.canConvertToLong()) {
                        return RequestFacts.NOT_JSON;
                    }
                    outputCap = value.isIntegralNumber() && value.longValue() > 0 ? value.longValue() : -1;
                }
                case "n", "best_of" -> {
                    if (value.isIntegralNumber() && !value.canConvertToInt()) {
                        return RequestFacts.NOT_JSON;
                    }
                    if (value.isIntegralNumber() && value.intValue() > 1) {
                        choices = Math.max(choices, Math.min(value.intValue(), 128));
                    }
                }
                default -> { }
            }
        }
        return new RequestFacts(model, stream, options != null, includeUsage, true, outputCap, choices);
    }

    /** Whether {@code after} is {@code before} with bytes inserted at one place and nothing else changed. */
    private static boolean isInsertion(byte[] before, byte[] after) {
        int added = after.length - before.length;
        int at = 0;
        while (at < before.length && before[at] == after[at]) {
            at++;
        }
        return added > 0 && Arrays.equals(before, at, before.length, after, at + added, after.length);
    }

    static boolean isValidUtf8(byte[] bytes) {
        try {
            StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes));
            return true;
        } catch (CharacterCodingException e) {
            return false;
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
