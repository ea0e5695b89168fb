package dev.tollgate.pricing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A key of invalid UTF-8 that Jackson's symbol table would take for a valid key it has seen
 * ({@code cont\xFFent} for {@code content}) is read from its own bytes, the same however warm the reader.
 * With Jackson's default factory each of these fails: the key reads as {@code content} once a body with that
 * key was read.
 */
class UntrustedJsonTest {

    /** {@code {"cont\xFFent":"hi"}}: 8 bytes of key that pack, 0xFF-padded, like the 7 of {@code content}. */
    private static final byte[] LOOKALIKE = concat("{\"cont", new byte[] {(byte) 0xFF}, "ent\":\"hi\"}");
    private static final byte[] KNOWN = "{\"content\":\"hi\"}".getBytes(StandardCharsets.UTF_8);

    @Test
    void blockingParserDoesNotTakeTheLookalikeForTheKnownKey() throws IOException {
        assertReadTheSameColdAndWarm(UntrustedJsonTest::blockingNames);
    }

    @Test
    void nonBlockingParserDoesNotTakeTheLookalikeForTheKnownKey() throws IOException {
        assertReadTheSameColdAndWarm(UntrustedJsonTest::nonBlockingNames);
    }

    private static void assertReadTheSameColdAndWarm(NameReader reader) throws IOException {
        List<String> cold = reader.names(LOOKALIKE);
        reader.names(KNOWN);
        List<String> warm = reader.names(LOOKALIKE);

        assertThat(warm).isEqualTo(cold).doesNotContain("content");
    }

    private interface NameReader {
        List<String> names(byte[] body) throws IOException;
    }

    /** The fuzz finding: a chat completion whose {@code content} key has a 0xFF in it. */
    @Test
    void aMalformedResponseIsMeteredTheSameWhateverWasMeteredBefore() throws IOException {
        byte[] finding = resource("JsonBodyMeterFuzzTestInputs/meter/invalid-utf8-key-like-a-known-one.json");
        byte[] valid = resource("JsonBodyMeterFuzzTestInputs/meter/chat_completion.json");

        MeterReading first = Splits.meter(new JsonBodyMeter(false), Splits.whole(finding));
        Splits.meter(new JsonBodyMeter(false), Splits.whole(valid));
        MeterReading again = Splits.meter(new JsonBodyMeter(false), Splits.whole(finding));

        assertThat(again).isEqualTo(first);
        assertThat(Splits.meter(new JsonBodyMeter(), Splits.whole(finding))).isEqualTo(first);
    }

    private static List<String> blockingNames(byte[] body) throws IOException {
        try (JsonParser parser = UntrustedJson.FACTORY.createParser(body)) {
            return names(parser);
        }
    }

    private static List<String> nonBlockingNames(byte[] body) throws IOException {
        try (JsonParser parser = UntrustedJson.FACTORY.createNonBlockingByteArrayParser()) {
            ((ByteArrayFeeder) parser.getNonBlockingInputFeeder()).feedInput(body, 0, body.length);
            parser.getNonBlockingInputFeeder().endOfInput();
            return names(parser);
        }
    }

    /** The field names read before the end or the first error, then the error's class if there was one. */
    private static List<String> names(JsonParser parser) {
        List<String> names = new ArrayList<>();
        try {
            JsonToken token;
            while ((token = parser.nextToken()) != null) {
                if (token == JsonToken.FIELD_NAME) {
                    names.add(parser.currentName());
                }
            }
        } catch (IOException e) {
            names.add(e.getClass().getSimpleName());
        }
        return names;
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = UntrustedJsonTest.class.getResourceAsStream(name)) {
            assertThat(in).as(name).isNotNull();
            return in.readAllBytes();
        }
    }

    private static byte[] concat(String head, byte[] middle, String tail) {
        byte[] a = head.getBytes(StandardCharsets.UTF_8);
        byte[] c = tail.getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[a.length + middle.length + c.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(middle, 0, all, a.length, middle.length);
        System.arraycopy(c, 0, all, a.length + middle.length, c.length);
        return all;
    }
}
