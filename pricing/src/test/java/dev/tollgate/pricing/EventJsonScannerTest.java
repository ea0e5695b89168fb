package dev.tollgate.pricing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fast event reader against Jackson: it must read what it accepts exactly as Jackson does, decline
 * what it does not accept without leaving a trace, and accept the events providers really send (else
 * streams silently fall back to the slow path).
 */
class EventJsonScannerTest {

    private static MeterReading viaStream(String json, boolean fastScan) {
        SseStreamMeter meter = new SseStreamMeter(null, fastScan);
        meter.feed(ByteBuffer.wrap(("data: " + json + "\n\n").getBytes(StandardCharsets.UTF_8)));
        return meter.finish();
    }

    private static boolean accepts(String json) {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        UsageCollector collector = new UsageCollector();
        collector.startDocument();
        return new EventJsonScanner(collector).scan(bytes, 0, bytes.length);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,"
                + "\"delta\":{\"content\":\"Hi \\\"there\\\"\\n\\u00e9\\ud83d\\ude00 \\/\\\\\\b\\f\\r\\t\"},\"finish_reason\":null}],\"usage\":null}",
        "{\"choices\":[{\"delta\":{\"content\":\"caf\u00e9 \u4e2d\u6587 \ud83d\ude00\"}}],\"model\":\"m\u00fc\"}",
        "{\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":7,\"total_tokens\":19,"
                + "\"prompt_tokens_details\":{\"cached_tokens\":4},\"completion_tokens_details\":{\"reasoning_tokens\":2}}}",
        "{\"usage\":{\"total_tokens\":-0,\"completion_tokens\":999999999999999999,\"x\":1.5e-3,\"y\":-2E+10,\"z\":0.25}}",
        " \t{ \"model\" : \"a\" , \"model\" : \"b\" ,\"usage\":{\"input_tokens\":1}\t}\t ",
        "{\"type\":\"response.output_text.delta\",\"delta\":\"hello\"}",
        "{\"type\":\"response.audio.delta\",\"delta\":\"AAAA\"}",
        "{\"type\":\"response.completed\",\"response\":{\"model\":\"gpt-5\",\"usage\":{\"input_tokens\":3,"
                + "\"input_tokens_details\":{\"cached_tokens\":1},\"output_tokens\":9,\"output_tokens_details\":{\"reasoning_tokens\":4}}}}",
        "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]}}]}",
        "{\"choices\":[{\"text\":\"completion text\",\"logprobs\":{\"tokens\":[\"a\",\"b\"],\"top\":[[1,2],[true,false,null]]}}]}",
        "{\"output\":[{\"content\":[{\"text\":\"out\"}]}],\"choices\":{\"delta\":{\"content\":\"not an array\"}}}",
        "{\"\":\"\",\"a\":{},\"b\":[],\"c\":[{}],\"unknown_key_that_is_long\":\"\\u0000\"}",
        // Near misses of known keys: same length, first and last byte (so the same table slot), one byte off.
        "{\"mxdel\":\"a\",\"uxage\":{\"prompt_tokens\":1},\"chxices\":[{\"delta\":{\"cxntent\":\"x\"}}],"
                + "\"choices\":[{\"dexta\":{\"content\":\"y\"},\"delta\":{\"contenT\":\"z\",\"text\":\"w\"}}]}",
    })
    void readsWhatItAcceptsExactlyAsJackson(String json) {
        assertThat(accepts(json)).as("accepted").isTrue();
        assertThat(viaStream(json, true)).isEqualTo(viaStream(json, false));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{\"usage\":{\"prompt_tokens\":1234567890123456789}}",
        "{\"mod\\u0065l\":\"escaped key\"}",
        "{\"k\u00e9y\":1}",
        "{\"model\":\"a\"} {\"model\":\"b\"}",
        "{\"model\":\"a\",}",
        "{\"a\":[1,]}",
        "{\"a\":01}",
        "{\"a\":+1}",
        "{\"a\":.5}",
        "{\"a\":1.}",
        "{\"a\":tru}",
        "{\"a\":truex}",
        "{\"a\":'x'}",
        "{\"a\":\"tab\there\"}",
        "{\"a\":\"bad \\x escape\"}",
        "{\"a\":\"\\u12G4\"}",
        "{\"a\":1 /* comment */}",
        "{\"a\":1}\u000b",
        "{\"a\":NaN}",
        "{\"model\":\"a\",\n\"usage\":{\"input_tokens\":1}}",
        "{\"model\":\"a\"\r}",
        "{\"model\":\"unterminated}",
        "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
    })
    void declinesWhatJacksonMustRead(String json) {
        assertThat(accepts(json)).as("accepted").isFalse();
        assertThat(viaStream(json, true)).isEqualTo(viaStream(json, false));
    }

    /** Event framings around the same chunk: the one-line fast path and the line-by-line path must agree with Jackson. */
    @ParameterizedTest
    @ValueSource(strings = {
        "data: %s\n\n",
        "data:%s\r\n\r\n",
        "data: %s\n\r\n",
        "data: %s\r\n\n",
        "data: %s \t \n\n",
        "data:  %s\n\n",
        "data: %s\nid: 7\n\n",
        "id: 7\ndata: %s\n\n",
        "event: message\r\ndata: %s\r\n\r\n",
        "data: %s\ndata: %s\n\n",
        "data: %s\r\r\n\n",
        "data: %s\n",
        ": comment\n\ndata: %s\n\ndata: [DONE]\n\n",
    })
    void framingsReadAndRewriteAsJackson(String framing) {
        String chunk = "{\"model\":\"m\",\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"usage\":null}";
        String usage = "{\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}";
        String stream = framing.formatted(chunk, chunk) + framing.formatted(usage, usage);
        byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
        java.io.ByteArrayOutputStream fast = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream slow = new java.io.ByteArrayOutputStream();
        SseStreamMeter fastMeter = new SseStreamMeter(fast::write, true);
        SseStreamMeter slowMeter = new SseStreamMeter(slow::write, false);
        fastMeter.feed(ByteBuffer.wrap(bytes));
        slowMeter.feed(ByteBuffer.wrap(bytes));

        assertThat(fastMeter.finish()).isEqualTo(slowMeter.finish());
        assertThat(fast.toString(StandardCharsets.UTF_8)).isEqualTo(slow.toString(StandardCharsets.UTF_8));
    }

    /**
     * Providers pretty-print plain responses (OpenAI indents by two spaces, one member a line): the body
     * reader takes the line breaks, the event reader declines them, and both read as Jackson does.
     */
    @Test
    void readsPrettyPrintedBodiesOnlyWhenBuiltForThem() throws IOException {
        byte[] oneLine;
        try (InputStream in = EventJsonScannerTest.class.getResourceAsStream("/responses/chat_completion_cached_reasoning.json")) {
            oneLine = in.readAllBytes();
        }
        com.fasterxml.jackson.databind.ObjectMapper mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        String pretty = mapper.writerWithDefaultPrettyPrinter().writeValueAsString(mapper.readTree(oneLine))
                .replace("\n", "\r\n") + "\n";
        byte[] bytes = pretty.getBytes(StandardCharsets.UTF_8);
        assertThat(pretty).contains("\r\n  \"usage\" : {");

        for (boolean lineBreaks : new boolean[] {true, false}) {
            UsageCollector collector = new UsageCollector();
            collector.startDocument();
            assertThat(new EventJsonScanner(collector, lineBreaks).scan(bytes, 0, bytes.length)).as("accepted with line breaks " + lineBreaks)
                    .isEqualTo(lineBreaks);
        }
        MeterReading fast = Splits.meter(new JsonBodyMeter(true), Splits.whole(bytes));
        assertThat(fast).isEqualTo(Splits.meter(new JsonBodyMeter(false), Splits.whole(bytes)));
        assertThat(fast.reportedUsage()).isEqualTo(new Usage(6256, 3072, 76, 64));
    }

    @Test
    void declinesMalformedUtf8() {
        byte[][] invalid = {
            {(byte) 0xC0, (byte) 0xAF},                          // overlong '/'
            {(byte) 0xE0, (byte) 0x80, (byte) 0xAF},             // overlong
            {(byte) 0xED, (byte) 0xA0, (byte) 0x80},             // a surrogate
            {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, // past U+10FFFF
            {(byte) 0xE2, (byte) 0x82},                          // cut short
            {(byte) 0x80},                                       // a lone continuation byte
            {(byte) 0xFF},
        };
        for (byte[] sequence : invalid) {
            for (String key : new String[] {"content", "id"}) {
                byte[] head = ("{\"choices\":[{\"delta\":{\"" + key + "\":\"a").getBytes(StandardCharsets.US_ASCII);
                byte[] tail = "b\"}}]}".getBytes(StandardCharsets.US_ASCII);
                byte[] json = new byte[head.length + sequence.length + tail.length];
                System.arraycopy(head, 0, json, 0, head.length);
                System.arraycopy(sequence, 0, json, head.length, sequence.length);
                System.arraycopy(tail, 0, json, head.length + sequence.length, tail.length);
                UsageCollector collector = new UsageCollector();
                collector.startDocument();
                assertThat(new EventJsonScanner(collector).scan(json, 0, json.length))
                        .as("%s in %s", java.util.HexFormat.of().formatHex(sequence), key).isFalse();
            }
        }
    }

    @Test
    void aDeclinedEventLeavesNoTrace() {
        UsageCollector collector = new UsageCollector();
        EventJsonScanner scanner = new EventJsonScanner(collector);
        byte[] first = "{\"model\":\"m1\",\"choices\":[{\"delta\":{\"content\":\"kept \"}}]}".getBytes(StandardCharsets.UTF_8);
        collector.startDocument();
        assertThat(scanner.scan(first, 0, first.length)).isTrue();
        // Model, text and usage are all collected before the error at the very end.
        byte[] broken = ("{\"model\":\"m2\",\"choices\":[{\"delta\":{\"content\":\"dropped\"}}],"
                + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6},\"x\":]").getBytes(StandardCharsets.UTF_8);
        collector.startDocument();
        assertThat(scanner.scan(broken, 0, broken.length)).isFalse();

        assertThat(collector.reading()).isEqualTo(new MeterReading("m1", null, "kept "));
    }

    @Test
    void acceptsEveryEventOfTheRecordedStreams() throws IOException {
        for (String name : new String[] {"chat_stream.sse", "chat_stream_no_usage.sse", "completion_stream.sse", "response_stream.sse"}) {
            String stream;
            try (InputStream in = EventJsonScannerTest.class.getResourceAsStream("/responses/" + name)) {
                stream = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            int events = 0;
            for (String line : stream.split("\n")) {
                if (line.startsWith("data: {")) {
                    assertThat(accepts(line.substring(6))).as("%s: %s", name, line).isTrue();
                    events++;
                }
            }
            assertThat(events).as(name).isGreaterThan(3);
        }
    }

    /**
     * Events that begin with the same members are read from where the members they share with the events
     * before them end ({@code EventJsonScanner.Prefix}); what they read must not change. Each event here
     * tries one way the shared part could be misread: a value of the same length that differs, a number
     * that grows, an event shorter than the prefix, a remembered event type that decides whether a
     * delta is text, a member that may not be skipped, and one that is declined after the shared part.
     */
    @Test
    void eventsThatBeginAlikeReadAndRewriteAsJackson() {
        String[] events = {
            "{\"id\":\"x\",\"model\":\"a\",\"created\":1,\"choices\":[{\"delta\":{\"content\":\"A\"}}],\"usage\":null}",
            "{\"id\":\"x\",\"model\":\"a\",\"created\":1,\"choices\":[{\"delta\":{\"content\":\"B\"}}],\"usage\":null}",
            "{\"id\":\"x\",\"model\":\"b\",\"created\":1,\"choices\":[{\"delta\":{\"content\":\"C\"}}],\"usage\":null}",
            "{\"id\":\"x\",\"model\":\"b\",\"created\":12,\"choices\":[{\"delta\":{\"content\":\"D\"}}]}",
            "{\"id\":\"x\",\"model\":\"b\"}",
            "{\"id\":\"x\",\"model\":\"b\",\"created\":12,\"choices\":[{\"delta\":{\"content\":\"E\"}}],\"bad\":tru}",
            "{\"id\":\"x\",\"type\":\"response.output_text.delta\",\"delta\":\"F\"}",
            "{\"id\":\"x\",\"type\":\"response.output_text.delta\",\"delta\":\"G\"}",
            "{\"id\":\"x\",\"type\":\"response.output_text.delta\"}",
            "{\"id\":\"x\",\"type\":\"response.output_text.delta\",\"delta\":\"H\"}",
            "{\"id\":\"x\",\"model\":{\"nested\":\"c\"},\"choices\":[{\"delta\":{\"content\":\"I\"}}]}",
            "{\"id\":\"x\",\"model\":{\"nested\":\"c\"},\"choices\":[]}",
            "{\"id\":\"x\",\"model\":\"d\",\"created\":12,\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}",
            "{\"id\":\"x\",\"model\":\"d\",\"created\":12,\"choices\":[{\"delta\":{\"content\":\"J\"}}],\"usage\":null}",
        };
        StringBuilder stream = new StringBuilder();
        for (String event : events) {
            stream.append("data: ").append(event).append("\n\n");
        }
        byte[] bytes = stream.toString().getBytes(StandardCharsets.UTF_8);
        java.io.ByteArrayOutputStream fast = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream slow = new java.io.ByteArrayOutputStream();
        MeterReading fastReading = Splits.meter(new SseStreamMeter(fast::write, true), Splits.whole(bytes));
        MeterReading slowReading = Splits.meter(new SseStreamMeter(slow::write, false), Splits.whole(bytes));

        assertThat(fastReading).isEqualTo(slowReading);
        assertThat(fastReading.generatedText()).isEqualTo("ABCDEFGHIJ");
        assertThat(fastReading.model()).isEqualTo("d");
        assertThat(fast.toString(StandardCharsets.UTF_8)).isEqualTo(slow.toString(StandardCharsets.UTF_8));
    }

    /** The recorded chat stream's chunks share six members (id to fingerprint), which are then skipped. */
    @Test
    void remembersTheMembersARecordedStreamRepeats() throws IOException {
        UsageCollector collector = new UsageCollector();
        EventJsonScanner scanner = new EventJsonScanner(collector);
        String stream;
        try (InputStream in = EventJsonScannerTest.class.getResourceAsStream("/responses/chat_stream.sse")) {
            stream = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        for (String line : stream.split("\n")) {
            if (line.startsWith("data: {")) {
                byte[] event = line.substring(6).getBytes(StandardCharsets.UTF_8);
                collector.startDocument();
                assertThat(scanner.scan(event, 0, event.length)).as(line).isTrue();
                assertThat(scanner.rememberedMembers()).as(line).isEqualTo(6);
            }
        }
        assertThat(new EventJsonScanner(collector, true).rememberedMembers()).as("a reader of plain bodies").isZero();
    }
}
