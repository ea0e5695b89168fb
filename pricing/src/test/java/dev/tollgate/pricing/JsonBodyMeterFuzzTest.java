package dev.tollgate.pricing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.DictionaryFile;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Fuzzes the usage extractor of plain JSON responses ({@link JsonBodyMeter}) with arbitrary bodies. Seeds
 * and kept findings: {@code src/test/resources/dev/tollgate/pricing/JsonBodyMeterFuzzTestInputs/meter}.
 *
 * <p>What must hold for any body: metering never throws (a body that is not JSON is counted, never
 * failed), the reading is well formed (non-negative token counts, the text within its cap), the fast
 * scanner and Jackson read it the same, and a body held whole ({@link JsonBodyMeter#HELD_BYTES}, which
 * every input here is) reads the same however it is cut into pieces. A body that is one JSON object reads
 * the same as the single event of a stream carrying it, so that streamed and plain calls are metered alike.
 *
 * <p>A body past the bound (a bound of 16 bytes here) is read by Jackson's non-blocking parser as it
 * passes, and reads the same as held when it is JSON in UTF-8. Only JSON bodies read the same however
 * cut then: that parser (2.22) accepts a {@code }} right after a {@code :} or {@code ,} when a piece
 * ends between them ({@code {"a":} or {@code {"a":1,}), which it rejects within one
 * piece (input {@code jackson-async-brace-after-separator.json}, the fuzzer's first finding), and reads a
 * key of invalid UTF-8 differently whole and cut byte by byte (input {@code invalid-utf8-key.json}). Such a
 * body is still counted, never failed. {@code ResponseMeterTest} covers bodies past the bound.
 *
 * <p>Input {@code invalid-utf8-key-like-a-known-one.json} (a {@code cont\xFFent} key) once read differently
 * by the fast meter and by Jackson alone, depending on the keys Jackson had read before; {@link UntrustedJson}
 * explains it, and {@code UntrustedJsonTest} reproduces it without the fuzzer.
 */
class JsonBodyMeterFuzzTest {

    private static final JsonFactory JSON = new JsonFactory();
    private static final ObjectMapper STRICT = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);

    // Pieces of the format, so that mutations make structure and not only noise. (A file: Jazzer 0.24 writes inline entries with raw line breaks, which libFuzzer rejects.)
    @DictionaryFile(resourcePath = "JsonBodyMeterFuzzTest.dict")
    @FuzzTest(maxDuration = "60s")
    void meter(byte[] body) {
        MeterReading whole = Splits.meter(new JsonBodyMeter(), Splits.whole(body));
        Readings.check(whole);
        MeterReading byteByByte = Splits.meter(new JsonBodyMeter(), Splits.byteByByte(body));
        Readings.check(byteByByte);
        MeterReading random = Splits.meter(new JsonBodyMeter(), Splits.random(body));
        Readings.check(random);
        assertEquals(Splits.meter(new JsonBodyMeter(false), Splits.whole(body)), whole, "the fast scanner disagrees with Jackson");
        if (body.length <= JsonBodyMeter.HELD_BYTES) {
            assertEquals(whole, byteByByte, "fed one byte at a time");
            assertEquals(whole, random, "fed in random pieces");
        }
        if (!isJson(body) || !RequestFactsFuzzTest.isValidUtf8(body)) {
            return;
        }
        // Past the bound (16 bytes here, so that the fuzzer's inputs cross it anywhere) the pieces are read
        // as they pass by the non-blocking parser, and JSON reads the same as when held. (Without a zero
        // byte: the blocking parser would take such a body for UTF-16 or UTF-32, the other only reads UTF-8.)
        if (indexOfZero(body) < 0) {
            assertEquals(whole, Splits.meter(new JsonBodyMeter(true, 16), Splits.byteByByte(body)), "read as it passes, byte by byte");
            assertEquals(whole, Splits.meter(new JsonBodyMeter(true, 16), Splits.random(body)), "read as it passes, in random pieces");
        }

        if (isOneLineJsonObject(body)) {
            byte[] event = concat("data: ".getBytes(StandardCharsets.US_ASCII), body, "\n\n".getBytes(StandardCharsets.US_ASCII));
            assertEquals(whole, Splits.meter(new SseStreamMeter(null), Splits.whole(event)), "the same JSON as a stream event");
        }
    }

    private static int indexOfZero(byte[] body) {
        for (int i = 0; i < body.length; i++) {
            if (body[i] == 0) {
                return i;
            }
        }
        return -1;
    }

    /** Whether a blocking parser reads the body as JSON values, one after another, to its end. */
    private static boolean isJson(byte[] body) {
        try (JsonParser parser = JSON.createParser(body)) {
            while (parser.nextToken() != null) {
                // Every token read without error.
            }
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static boolean isOneLineJsonObject(byte[] body) {
        if (body.length == 0 || body[0] != '{' || !RequestFactsFuzzTest.isValidUtf8(body)) {
            // Not valid UTF-8: the two meters' parsers may each read an invalid key differently (see RequestFactsFuzzTest).
            return false;
        }
        for (byte b : body) {
            if (b == '\n' || b == '\r') {
                return false;
            }
        }
        try {
            JsonNode tree = STRICT.readTree(body);
            return tree != null && tree.isObject();
        } catch (IOException e) {
            return false;
        }
    }

    static byte[] concat(byte[]... parts) {
        byte[] out = new byte[Arrays.stream(parts).mapToInt(p -> p.length).sum()];
        int at = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, out, at, part.length);
            at += part.length;
        }
        return out;
    }
}
