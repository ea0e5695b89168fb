package dev.tollgate.pricing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.code_intelligence.jazzer.junit.DictionaryFile;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

/**
 * Fuzzes the server-sent-event scanner ({@link SseStreamMeter}) with arbitrary streams, both observing
 * (no sink) and rewriting (with an {@link SseStreamMeter.EventSink}, as when Tollgate asked for usage on
 * the agent's behalf). Seeds and kept findings:
 * {@code src/test/resources/dev/tollgate/pricing/SseStreamMeterFuzzTestInputs/scan}.
 *
 * <p>What must hold for any stream (each well under {@link SseStreamMeter#MAX_EVENT_BYTES}, past which
 * metering gives up at a point that depends on the pieces):
 * <ul>
 *   <li>The fast event scanner and Jackson read and rewrite every stream the same.</li>
 *   <li>Neither kind of meter throws, the reading is well formed, and it is the same however the stream
 *       is cut, and the same with or without rewriting: rewriting never changes what is metered.</li>
 *   <li>The rewritten stream is the same however the stream is cut, and only ever deletes bytes.</li>
 *   <li>Event by event, the agent gets the event unchanged, or nothing (only for a usage-only chunk,
 *       which is then metered), or the event less one {@code "usage":null} field and a comma; an event
 *       stays one event; and an event whose data is a JSON object still carries a JSON object, the same
 *       one less its null {@code usage} fields.</li>
 *   <li>A stream without usage and without {@code "usage":null} passes through byte for byte.</li>
 * </ul>
 */
class SseStreamMeterFuzzTest {

    private static final byte[] USAGE_NULL = "\"usage\":null".getBytes(StandardCharsets.US_ASCII);
    private static final ObjectMapper STRICT = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);

    // Pieces of the format, so that mutations make structure and not only noise. (A file: Jazzer 0.24 writes inline entries with raw line breaks, which libFuzzer rejects.)
    @DictionaryFile(resourcePath = "SseStreamMeterFuzzTest.dict")
    @FuzzTest(maxDuration = "60s")
    void scan(byte[] stream) {
        MeterReading observed = Splits.meter(new SseStreamMeter(null), Splits.whole(stream));
        Readings.check(observed);
        assertEquals(observed, Splits.meter(new SseStreamMeter(null), Splits.byteByByte(stream)), "fed one byte at a time");
        assertEquals(observed, Splits.meter(new SseStreamMeter(null), Splits.random(stream)), "fed in random pieces");
        assertEquals(Splits.meter(new SseStreamMeter(null, false), Splits.whole(stream)), observed,
                "the fast event scanner disagrees with Jackson");

        Rewritten whole = rewrite(Splits.whole(stream));
        assertEquals(observed, whole.reading, "rewriting changed what was metered");
        ByteArrayOutputStream byJackson = new ByteArrayOutputStream();
        Splits.meter(new SseStreamMeter(byJackson::write, false), Splits.whole(stream));
        assertArrayEquals(byJackson.toByteArray(), whole.agentSees, "the fast event scanner rewrote differently from Jackson");
        Rewritten byteByByte = rewrite(Splits.byteByByte(stream));
        assertEquals(observed, byteByByte.reading, "rewriting one byte at a time changed what was metered");
        assertArrayEquals(whole.agentSees, byteByByte.agentSees, "the rewritten stream depends on the pieces (byte by byte)");
        Rewritten random = rewrite(Splits.random(stream));
        assertEquals(observed, random.reading, "rewriting random pieces changed what was metered");
        assertArrayEquals(whole.agentSees, random.agentSees, "the rewritten stream depends on the pieces (random)");

        if (!isSubsequence(whole.agentSees, stream)) {
            throw new AssertionError("the rewritten stream has bytes the provider did not send");
        }
        if (observed.reportedUsage() == null && indexOf(stream, USAGE_NULL, 0, stream.length) < 0) {
            assertArrayEquals(stream, whole.agentSees, "a stream with nothing to rewrite was changed");
        }
        checkEventByEvent(stream, whole.agentSees);
    }

    private record Rewritten(MeterReading reading, byte[] agentSees) {
    }

    private static Rewritten rewrite(List<ByteBuffer> pieces) {
        ByteArrayOutputStream agentSees = new ByteArrayOutputStream();
        MeterReading reading = Splits.meter(new SseStreamMeter(agentSees::write), pieces);
        return new Rewritten(reading, agentSees.toByteArray());
    }

    /** Feeds each whole event alone, so that what the agent gets for it can be told apart. */
    private static void checkEventByEvent(byte[] stream, byte[] agentSeesWhole) {
        ByteArrayOutputStream agentSees = new ByteArrayOutputStream();
        SseStreamMeter meter = new SseStreamMeter(agentSees::write);
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        int from = 0;
        int to;
        while ((to = nextBoundary(stream, from)) >= 0) {
            byte[] event = Arrays.copyOfRange(stream, from, to);
            meter.feed(ByteBuffer.wrap(event));
            byte[] out = agentSees.toByteArray();
            agentSees.reset();
            all.writeBytes(out);
            checkEvent(event, out);
            from = to;
        }
        meter.feed(ByteBuffer.wrap(stream, from, stream.length - from));
        meter.finish();
        all.writeBytes(agentSees.toByteArray());
        assertArrayEquals(agentSeesWhole, all.toByteArray(), "fed event by event, the rewritten stream differs");
    }

    private static void checkEvent(byte[] event, byte[] out) {
        if (out.length == 0) {
            if (Splits.meter(new SseStreamMeter(null), Splits.whole(event)).reportedUsage() == null) {
                throw new AssertionError("an event was dropped that carried no usage: " + text(event));
            }
            return;
        }
        if (Arrays.equals(event, out)) {
            return;
        }
        // Exactly one run of bytes is gone: "usage":null, with spaces or tabs and at most one comma beside it.
        // Where the run was may be ambiguous (",a" and "a," remove the same from ",a,"): any place will do.
        int removed = event.length - out.length;
        int prefix = 0;
        while (prefix < out.length && event[prefix] == out[prefix]) {
            prefix++;
        }
        int suffix = 0;
        while (suffix < out.length && event[event.length - 1 - suffix] == out[out.length - 1 - suffix]) {
            suffix++;
        }
        boolean found = false;
        for (int at = Math.max(0, out.length - suffix); removed > 0 && at <= prefix && !found; at++) {
            String bare = new String(event, at, removed, StandardCharsets.ISO_8859_1).replace(" ", "").replace("\t", "");
            found = bare.equals("\"usage\":null") || bare.equals(",\"usage\":null") || bare.equals("\"usage\":null,");
        }
        if (!found) {
            throw new AssertionError("an event was changed other than by removing \"usage\":null and a comma: "
                    + text(event) + " -> " + text(out));
        }
        if (nextBoundary(out, 0) != out.length) {
            throw new AssertionError("rewriting split one event into several: " + text(event) + " -> " + text(out));
        }
        JsonNode before = strictData(event);
        if (before != null) {
            JsonNode after = strictData(out);
            assertNotNull(after, () -> "rewriting broke the event's JSON: " + text(event) + " -> " + text(out));
            assertEquals(withoutNullUsage(before), withoutNullUsage(after),
                    () -> "rewriting changed the event's JSON: " + text(event) + " -> " + text(out));
        }
    }

    /** The event's data lines joined (as an SSE client joins them), parsed as one JSON object; null when it is not one. */
    private static JsonNode strictData(byte[] event) {
        String text = new String(event, StandardCharsets.UTF_8);
        StringBuilder data = null;
        for (String line : text.split("\n", -1)) {
            if (line.endsWith("\r")) {
                line = line.substring(0, line.length() - 1);
            }
            if (line.startsWith("data:")) {
                String value = line.substring(5);
                value = value.startsWith(" ") ? value.substring(1) : value;
                data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
            }
        }
        if (data == null || !isValidUtf8(event)) {
            return null;
        }
        try {
            JsonNode tree = STRICT.readTree(data.toString());
            return tree != null && tree.isObject() ? tree : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static JsonNode withoutNullUsage(JsonNode node) {
        JsonNode copy = node.deepCopy();
        strip(copy);
        return copy;
    }

    private static void strip(JsonNode node) {
        if (node instanceof ObjectNode object) {
            JsonNode usage = object.get("usage");
            if (usage != null && usage.isNull()) {
                object.remove("usage");
            }
        }
        for (Iterator<JsonNode> it = node.elements(); it.hasNext(); ) {
            strip(it.next());
        }
    }

    /** The index just past the next blank line ({@code \n\n} or {@code \n\r\n}) from {@code from}, or -1: the meter's rule. */
    static int nextBoundary(byte[] bytes, int from) {
        for (int i = from; i < bytes.length - 1; i++) {
            if (bytes[i] != '\n') {
                continue;
            }
            if (bytes[i + 1] == '\n') {
                return i + 2;
            }
            if (bytes[i + 1] == '\r' && i + 2 < bytes.length && bytes[i + 2] == '\n') {
                return i + 3;
            }
        }
        return -1;
    }

    private static boolean isSubsequence(byte[] part, byte[] whole) {
        int j = 0;
        for (int i = 0; i < whole.length && j < part.length; i++) {
            if (whole[i] == part[j]) {
                j++;
            }
        }
        return j == part.length;
    }

    private static int indexOf(byte[] bytes, byte[] pattern, int from, int to) {
        outer:
        for (int i = from; i <= to - pattern.length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (bytes[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static boolean isValidUtf8(byte[] bytes) {
        try {
            StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes));
            return true;
        } catch (java.nio.charset.CharacterCodingException e) {
            return false;
        }
    }

    private static String text(byte[] bytes) {
        StringBuilder out = new StringBuilder("\"");
        for (byte b : bytes) {
            int c = b & 0xff;
            if (c == '\n') {
                out.append("\\n");
            } else if (c == '\r') {
                out.append("\\r");
            } else if (c < 0x20 || c >= 0x7f) {
                out.append(String.format("\\x%02x", c));
            } else {
                out.append((char) c);
            }
        }
        return out.append('"').toString();
    }
}
