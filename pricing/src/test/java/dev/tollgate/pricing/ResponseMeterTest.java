package dev.tollgate.pricing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Fixture responses of every endpoint and stream kind, fed to the meters in pieces of random size (as
 * the network splits them), give the usage the provider reported.
 */
class ResponseMeterTest {

    private static byte[] fixture(String name) throws IOException {
        try (InputStream in = ResponseMeterTest.class.getResourceAsStream("/responses/" + name)) {
            return in.readAllBytes();
        }
    }

    /** Feeds {@code body} in random pieces of 1 to 200 bytes. */
    private static MeterReading meter(ResponseMeter meter, byte[] body, long seed) {
        Random random = new Random(seed);
        int at = 0;
        while (at < body.length) {
            int n = Math.min(body.length - at, 1 + random.nextInt(200));
            meter.feed(ByteBuffer.wrap(body, at, n));
            at += n;
        }
        return meter.finish();
    }

    private static MeterReading plain(String name) throws IOException {
        return meter(new JsonBodyMeter(), fixture(name), name.hashCode());
    }

    private static MeterReading stream(String name) throws IOException {
        return meter(new SseStreamMeter(null), fixture(name), name.hashCode());
    }

    @Test
    void chatCompletion() throws IOException {
        MeterReading reading = plain("chat_completion.json");

        assertThat(reading.model()).isEqualTo("gpt-4o-2024-08-06");
        assertThat(reading.reportedUsage()).isEqualTo(new Usage(20, 0, 15, 0));
        assertThat(reading.generatedText()).startsWith("Tollgate forwarded");
    }

    @Test
    void chatCompletionWithCachedAndReasoningTokens() throws IOException {
        assertThat(plain("chat_completion_cached_reasoning.json").reportedUsage()).isEqualTo(new Usage(6256, 3072, 76, 64));
    }

    @Test
    void chatStreamWithUsageChunk() throws IOException {
        MeterReading reading = stream("chat_stream.sse");

        assertThat(reading.model()).isEqualTo("gpt-4o-mini-2024-07-18");
        assertThat(reading.reportedUsage()).isEqualTo(new Usage(14, 0, 21, 0));
        assertThat(reading.generatedText()).startsWith("Tollgate forwarded this call");
    }

    @Test
    void chatStreamWithoutUsageReportsNoneButKeepsTheText() throws IOException {
        MeterReading reading = stream("chat_stream_no_usage.sse");

        assertThat(reading.reportedUsage()).isNull();
        assertThat(reading.generatedText().split(" ")).hasSizeGreaterThan(10);
    }

    @Test
    void legacyCompletionsPlainAndStreamed() throws IOException {
        assertThat(plain("completion.json").reportedUsage()).isEqualTo(new Usage(5, 0, 30, 0));
        MeterReading streamed = stream("completion_stream.sse");
        assertThat(streamed.reportedUsage()).isEqualTo(new Usage(5, 0, 30, 0));
        assertThat(streamed.generatedText()).startsWith("Tollgate forwarded");
    }

    @Test
    void embeddingsReportInputOnly() throws IOException {
        MeterReading reading = plain("embeddings.json");

        assertThat(reading.model()).isEqualTo("text-embedding-3-small");
        assertThat(reading.reportedUsage()).isEqualTo(new Usage(4, 0, 0, 0));
    }

    @Test
    void responsesApiPlainAndStreamed() throws IOException {
        MeterReading plain = plain("response.json");
        MeterReading streamed = stream("response_stream.sse");

        assertThat(plain.model()).isEqualTo("o4-mini-2025-04-16");
        assertThat(plain.reportedUsage()).isEqualTo(new Usage(13, 0, 148, 128));
        assertThat(plain.generatedText()).startsWith("Tollgate forwarded");
        assertThat(streamed.model()).isEqualTo("gpt-4.1-2025-04-14");
        assertThat(streamed.reportedUsage()).isEqualTo(new Usage(11, 0, 31, 0));
        assertThat(streamed.generatedText()).startsWith("Tollgate forwarded");
    }

    @Test
    void aStreamCutMidwayHasNoUsageAndTheTextSoFar() throws IOException {
        byte[] whole = fixture("chat_stream.sse");
        String text = new String(whole, StandardCharsets.UTF_8);
        int cut = text.indexOf("\"content\":\" provider\"");

        MeterReading reading = meter(new SseStreamMeter(null), java.util.Arrays.copyOf(whole, cut + 10), 7);

        assertThat(reading.reportedUsage()).isNull();
        assertThat(reading.generatedText()).isEqualTo("Tollgate forwarded this call to a simulated");
    }

    /**
     * A body past {@link JsonBodyMeter#HELD_BYTES} (an embeddings response of many vectors) is not held
     * whole: it is read as it passes, from the piece that crosses the bound, and still gives the usage.
     */
    @Test
    void aBodyPastTheHeldBoundIsReadAsItPasses() {
        StringBuilder json = new StringBuilder("{\"object\":\"list\",\"data\":[");
        Random random = new Random(5);
        for (int vector = 0; json.length() <= 3 * JsonBodyMeter.HELD_BYTES; vector++) {
            json.append(vector == 0 ? "" : ",").append("{\"object\":\"embedding\",\"index\":").append(vector).append(",\"embedding\":[");
            for (int i = 0; i < 256; i++) {
                json.append(i == 0 ? "" : ",").append(random.nextFloat() - 0.5f);
            }
            json.append("]}");
        }
        json.append("],\"model\":\"text-embedding-3-small\",\"usage\":{\"prompt_tokens\":812,\"total_tokens\":812}}");
        byte[] body = json.toString().getBytes(StandardCharsets.UTF_8);

        MeterReading reading = meter(new JsonBodyMeter(), body, 11);

        assertThat(reading.model()).isEqualTo("text-embedding-3-small");
        assertThat(reading.reportedUsage()).isEqualTo(new Usage(812, 0, 0, 0));
        assertThat(reading).isEqualTo(meter(new JsonBodyMeter(false), body, 12));
        // One piece larger than the bound on its own, and one that crosses it from a held start.
        byte[] head = java.util.Arrays.copyOf(body, 100);
        byte[] rest = java.util.Arrays.copyOfRange(body, 100, body.length);
        JsonBodyMeter crossing = new JsonBodyMeter();
        crossing.feed(ByteBuffer.wrap(head));
        crossing.feed(ByteBuffer.allocateDirect(rest.length).put(rest).flip());
        assertThat(crossing.finish()).isEqualTo(reading);
    }

    @Test
    void aMalformedBodyMetersNothingAndDoesNotThrow() {
        byte[] junk = "{\"model\":\"gpt-4o\",\"usage\":{\"prompt_tokens\":5,,,".getBytes(StandardCharsets.UTF_8);

        MeterReading reading = meter(new JsonBodyMeter(), junk, 1);
        MeterReading events = meter(new SseStreamMeter(null), "data: {not json\n\ndata: [DONE]\n\n".getBytes(), 1);

        assertThat(reading.model()).isEqualTo("gpt-4o");
        assertThat(events.reportedUsage()).isNull();
    }

    @Test
    void aNegativeCountReadsAsZeroAndDoesNotThrow() {
        byte[] body = "{\"usage\":{\"prompt_tokens\":47,\"completion_tokens\":-48,\"total_tokens\":-1,\"completion_tokens_details\":{\"reasoning_tokens\":-5}}}"
                .getBytes(StandardCharsets.UTF_8);
        byte[] stream = ("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":-3,\"completion_tokens\":2,\"total_tokens\":-1}}\n\n")
                .getBytes(StandardCharsets.UTF_8);

        assertThat(meter(new JsonBodyMeter(), body, 1).reportedUsage()).isEqualTo(new Usage(47, 0, 0, 0));
        assertThat(meter(new SseStreamMeter(null), stream, 1).reportedUsage()).isEqualTo(new Usage(0, 0, 2, 0));
    }

    @Test
    void rewriteDropsTheUsageChunkAndTheUsageNullFields() throws IOException {
        byte[] withUsage = fixture("chat_stream.sse");
        ByteArrayOutputStream agentSees = new ByteArrayOutputStream();
        SseStreamMeter meter = new SseStreamMeter(agentSees::write);

        MeterReading reading = meter(meter, withUsage, 3);

        String rewritten = agentSees.toString(StandardCharsets.UTF_8);
        assertThat(reading.reportedUsage()).isEqualTo(new Usage(14, 0, 21, 0));
        assertThat(rewritten).doesNotContain("\"usage\"").endsWith("data: [DONE]\n\n");
        // Exactly what the provider sends when usage is not asked for: the same events, minus the field.
        String expected = new String(withUsage, StandardCharsets.UTF_8)
                .replace(",\"usage\":null", "")
                .replaceAll("data: \\{[^\\n]*\"choices\":\\[\\],\"usage\":\\{[^\\n]*\\n\\n", "");
        assertThat(rewritten).isEqualTo(expected);
        assertThat(rewritten.split("\n\n")).hasSize(new String(withUsage, StandardCharsets.UTF_8).split("\n\n").length - 1);
    }

    @Test
    void rewriteHandlesCrLfEventsAndUsageNullFirst() {
        String provider = "data: {\"usage\":null,\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\r\n\r\n"
                + "data: {\"id\":\"1\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\r\n\r\n"
                + "data: [DONE]\r\n\r\n";
        ByteArrayOutputStream agentSees = new ByteArrayOutputStream();

        MeterReading reading = meter(new SseStreamMeter(agentSees::write), provider.getBytes(StandardCharsets.UTF_8), 5);

        assertThat(agentSees.toString(StandardCharsets.UTF_8)).isEqualTo(
                "data: {\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\r\n\r\ndata: [DONE]\r\n\r\n");
        assertThat(reading.reportedUsage()).isEqualTo(new Usage(3, 0, 1, 0));
        assertThat(reading.generatedText()).isEqualTo("hi");
    }

    @Test
    void rewriteRemovesUsageNullOnlyWhereItIsAMemberOfTheObject() {
        String[] untouched = {
            "data: {\"x\\\"usage\":null,\"choices\":[]}\n\n",  // the end of the key x"usage
            "data: {\"id\":\"1\",\ndata: \"usage\":null}\n\n",   // a field on a data line of its own
            "data: {\"usage\":null\ndata: ,\"id\":\"1\"}\n\n",
            "data: {\"a\":1}\n,\"usage\":null\ndata: {\"b\":2}\n\n",  // not on a data line: removing it would end the event early
        };
        for (String event : untouched) {
            ByteArrayOutputStream agentSees = new ByteArrayOutputStream();
            meter(new SseStreamMeter(agentSees::write), event.getBytes(StandardCharsets.UTF_8), 9);
            assertThat(agentSees.toString(StandardCharsets.UTF_8)).isEqualTo(event);
        }
        ByteArrayOutputStream agentSees = new ByteArrayOutputStream();
        meter(new SseStreamMeter(agentSees::write), "data: {\"usage\":null}\n\ndata: {\"a\":1, \"usage\":null }\n\n".getBytes(), 9);
        assertThat(agentSees.toString(StandardCharsets.UTF_8)).isEqualTo("data: {}\n\ndata: {\"a\":1 }\n\n");
    }

    @Test
    void requestFactsAndInjection() throws IOException {
        byte[] body = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"stream_options\"}],\"stream\":true}"
                .getBytes(StandardCharsets.UTF_8);
        RequestFacts facts = RequestFacts.scan(new java.io.ByteArrayInputStream(body));

        assertThat(facts).isEqualTo(new RequestFacts("gpt-4o", true, false, false, true, -1, 1));
        assertThat(facts.needsUsageInjection(Endpoint.CHAT_COMPLETIONS)).isTrue();
        assertThat(facts.needsUsageInjection(Endpoint.RESPONSES)).isFalse();
        byte[] injected = UsageInjection.inject(body, facts);
        RequestFacts after = RequestFacts.scan(new java.io.ByteArrayInputStream(injected));
        assertThat(after.includeUsage()).isTrue();
        assertThat(new String(injected, StandardCharsets.UTF_8)).contains("\"content\":\"stream_options\"");

        byte[] withOptions = "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_obfuscation\":false}}".getBytes();
        RequestFacts optionFacts = RequestFacts.scan(new java.io.ByteArrayInputStream(withOptions));
        String rewritten = new String(UsageInjection.inject(withOptions, optionFacts), StandardCharsets.UTF_8);
        assertThat(rewritten).contains("\"include_obfuscation\":false").contains("\"include_usage\":true");

        byte[] empty = "{}".getBytes();
        assertThat(new String(UsageInjection.inject(empty, RequestFacts.scan(new java.io.ByteArrayInputStream(empty)))))
                .isEqualTo("{\"stream_options\":{\"include_usage\":true}}");
        assertThat(RequestFacts.scan(new java.io.ByteArrayInputStream("[1]".getBytes())).validJson()).isFalse();
        assertThat(RequestFacts.scan(new java.io.ByteArrayInputStream("{\"model\":5}".getBytes())).model()).isNull();
        // A body in UTF-16 is re-serialised (as UTF-8) rather than given ASCII bytes in the middle of it.
        byte[] utf16 = "{\"model\":\"gpt-4o\",\"stream\":true}".getBytes(StandardCharsets.UTF_16LE);
        byte[] utf16Injected = UsageInjection.inject(utf16, RequestFacts.scan(new java.io.ByteArrayInputStream(utf16)));
        assertThat(new String(utf16Injected, StandardCharsets.UTF_8))
                .isEqualTo("{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
        // A value that is an object or an array is skipped whole, whatever its key: none of its fields is read as a top-level one.
        byte[] nested = "{\"n\":{\"model\":\"a\"},\"stream\":[true],\"stream_options\":{\"include_usage\":{\"model\":\"b\"}},\"model\":\"c\",\"max_tokens\":9}"
                .getBytes();
        assertThat(RequestFacts.scan(new java.io.ByteArrayInputStream(nested))).isEqualTo(new RequestFacts("c", false, true, false, true, 9, 1));
    }
}
