package dev.tollgate.pricing.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.pricing.Endpoint;
import dev.tollgate.pricing.MeterReading;
import dev.tollgate.pricing.ModelPrice;
import dev.tollgate.pricing.PriceTable;
import dev.tollgate.pricing.RequestFacts;
import dev.tollgate.pricing.ResponseMeter;
import dev.tollgate.pricing.SseStreamMeter;
import dev.tollgate.pricing.TokenCounter;
import dev.tollgate.pricing.Usage;
import dev.tollgate.pricing.UsageInjection;
import dev.tollgate.pricing.UsdNanos;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The metering hot paths: what the proxy does per call (request scan, usage extraction, price lookup)
 * and per streamed event, and the token counting of the rare path where usage is missing. Fixtures are
 * the recorded provider responses the tests use. Run with {@code examples/bench/jmh.sh}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class MeteringBenchmark {

    private byte[] chatCompletion;
    private byte[] chatCompletionPretty;
    private byte[] chatStream;
    private byte[] responseStream;
    private byte[] embeddings;
    private byte[] chatRequest;
    private byte[] streamedRequest;
    private String text1k;
    private String text10k;
    private JsonNode cookbookMessages;
    private PriceTable prices;
    private TokenCounter tokens;
    private final Usage usage = new Usage(12_345, 6_789, 2_345, 1_200);

    @Setup
    public void load() throws IOException {
        chatCompletion = fixture("chat_completion.json");
        ObjectMapper mapper = new ObjectMapper();
        chatCompletionPretty = mapper.writerWithDefaultPrettyPrinter().writeValueAsBytes(mapper.readTree(chatCompletion));
        chatStream = fixture("chat_stream.sse");
        responseStream = fixture("response_stream.sse");
        embeddings = fixture("embeddings.json");
        StringBuilder prompt = new StringBuilder();
        while (prompt.length() < 4_000) {
            prompt.append("Summarise the open tickets of the support queue and propose next steps. ");
        }
        chatRequest = ("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},"
                + "{\"role\":\"user\",\"content\":\"" + prompt + "\"}],\"max_tokens\":512}").getBytes();
        streamedRequest = ("{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\""
                + prompt + "\"}]}").getBytes();
        text1k = prompt.substring(0, 1_000);
        text10k = prompt.toString().repeat(3).substring(0, 10_000);
        cookbookMessages = new ObjectMapper().readTree(new String(chatRequest));
        prices = PriceTable.bundled();
        tokens = new TokenCounter();
    }

    private static byte[] fixture(String name) throws IOException {
        try (InputStream in = MeteringBenchmark.class.getResourceAsStream("/responses/" + name)) {
            return in.readAllBytes();
        }
    }

    /** Feeds a body in 1 KiB pieces, as the network delivers it. */
    private static MeterReading meter(ResponseMeter meter, byte[] body) {
        for (int at = 0; at < body.length; at += 1024) {
            meter.feed(ByteBuffer.wrap(body, at, Math.min(1024, body.length - at)));
        }
        return meter.finish();
    }

    @Benchmark
    public MeterReading usageFromChatCompletion() {
        return meter(ResponseMeter.forResponse(Endpoint.CHAT_COMPLETIONS, false), chatCompletion);
    }

    /** The same completion as the provider sends it: OpenAI pretty-prints plain responses. */
    @Benchmark
    public MeterReading usageFromChatCompletionPretty() {
        return meter(ResponseMeter.forResponse(Endpoint.CHAT_COMPLETIONS, false), chatCompletionPretty);
    }

    @Benchmark
    public MeterReading usageFromEmbeddings() {
        return meter(ResponseMeter.forResponse(Endpoint.EMBEDDINGS, false), embeddings);
    }

    /** A 24-event chat stream, observed as it passes: divide by 25 for the cost per event. */
    @Benchmark
    public MeterReading usageFromChatStream() {
        return meter(new SseStreamMeter(null), chatStream);
    }

    /** The same stream rewritten for an agent that did not ask for usage. */
    @Benchmark
    public MeterReading usageFromChatStreamRewritten(Blackhole hole) {
        return meter(new SseStreamMeter((bytes, offset, length) -> hole.consume(length)), chatStream);
    }

    @Benchmark
    public MeterReading usageFromResponsesStream() {
        return meter(new SseStreamMeter(null), responseStream);
    }

    /** Reading model and stream flags from a 4 KB chat request. */
    @Benchmark
    public RequestFacts scanRequest() {
        return RequestFacts.scan(new ByteArrayInputStream(chatRequest));
    }

    @Benchmark
    public byte[] injectIncludeUsage() throws IOException {
        return UsageInjection.inject(streamedRequest, RequestFacts.scan(new ByteArrayInputStream(streamedRequest)));
    }

    @Benchmark
    public UsdNanos priceLookupAndCost() {
        ModelPrice price = prices.resolve("gpt-4o-2024-08-06").orElseThrow().price();
        return price.cost(usage);
    }

    @Benchmark
    public int countText1k() {
        return tokens.countText("gpt-4o", text1k);
    }

    @Benchmark
    public int countText10k() {
        return tokens.countText("gpt-4o", text10k);
    }

    /** The chat formula over a parsed 4 KB request (parsing excluded). */
    @Benchmark
    public long countChatPrompt4k() {
        return tokens.countChatPrompt("gpt-4o", cookbookMessages);
    }
}
