package dev.tollgate.proxy.mock;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The bodies the fake provider answers with, shaped like OpenAI's (ids, dated model names, usage with
 * its details objects), written with Jackson's streaming generator straight into Netty buffers.
 */
final class MockReplies {

    private static final JsonFactory JSON = new JsonFactory();
    private static final String[] WORDS = ("Tollgate forwarded this call to a simulated provider that answers like the"
            + " real one does, with usage on every response so that each agent and each task can be charged"
            + " exactly what it spent and stopped before a runaway loop costs real money over a long weekend")
            .split(" ");
    private static final String FINGERPRINT = "fp_7a2c1d9e4b";
    private static final ConcurrentHashMap<Integer, Embedding> EMBEDDINGS = new ConcurrentHashMap<>();

    private MockReplies() {
    }

    interface JsonBody {
        void write(JsonGenerator json) throws IOException;
    }

    /** The reply's words for a request: a length that depends on the prompt, capped by its output limit. */
    static List<String> replyWords(MockRequest request) {
        int wanted = 12 + (int) (request.promptChars() % 20);
        int n = Math.min(wanted, request.maxOutputTokens());
        List<String> words = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            words.add(i == 0 ? WORDS[0] : " " + WORDS[i % WORDS.length]);
        }
        return words;
    }

    static boolean truncated(MockRequest request, List<String> words) {
        return words.size() == request.maxOutputTokens();
    }

    static String id(String prefix) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        char[] out = new char[24];
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        for (int i = 0; i < out.length; i++) {
            out[i] = alphabet.charAt(random.nextInt(alphabet.length()));
        }
        return prefix + new String(out);
    }

    static ByteBuf json(ByteBufAllocator alloc, JsonBody body) {
        ByteBuf buf = alloc.buffer(512);
        writeJson(buf, body);
        return buf;
    }

    /** One SSE event: an optional {@code event:} line and a {@code data:} line with JSON. */
    static ByteBuf event(ByteBufAllocator alloc, String eventName, JsonBody body) {
        ByteBuf buf = alloc.buffer(512);
        if (eventName != null) {
            buf.writeCharSequence("event: " + eventName + "\n", java.nio.charset.StandardCharsets.UTF_8);
        }
        buf.writeCharSequence("data: ", java.nio.charset.StandardCharsets.US_ASCII);
        writeJson(buf, body);
        buf.writeCharSequence("\n\n", java.nio.charset.StandardCharsets.US_ASCII);
        return buf;
    }

    private static void writeJson(ByteBuf buf, JsonBody body) {
        try (JsonGenerator json = JSON.createGenerator((OutputStream) new ByteBufOutputStream(buf))) {
            body.write(json);
        } catch (IOException e) {
            buf.release();
            throw new UncheckedIOException(e);
        }
    }

    static void chatUsage(JsonGenerator json, SimulatedUsage usage) throws IOException {
        json.writeObjectFieldStart("usage");
        json.writeNumberField("prompt_tokens", usage.promptTokens());
        json.writeNumberField("completion_tokens", usage.outputTokens());
        json.writeNumberField("total_tokens", usage.totalTokens());
        json.writeObjectFieldStart("prompt_tokens_details");
        json.writeNumberField("cached_tokens", usage.cachedTokens());
        json.writeNumberField("audio_tokens", 0);
        json.writeEndObject();
        json.writeObjectFieldStart("completion_tokens_details");
        json.writeNumberField("reasoning_tokens", usage.reasoningTokens());
        json.writeNumberField("audio_tokens", 0);
        json.writeNumberField("accepted_prediction_tokens", 0);
        json.writeNumberField("rejected_prediction_tokens", 0);
        json.writeEndObject();
        json.writeEndObject();
    }

    static void responsesUsage(JsonGenerator json, SimulatedUsage usage) throws IOException {
        json.writeObjectFieldStart("usage");
        json.writeNumberField("input_tokens", usage.promptTokens());
        json.writeObjectFieldStart("input_tokens_details");
        json.writeNumberField("cached_tokens", usage.cachedTokens());
        json.writeEndObject();
        json.writeNumberField("output_tokens", usage.outputTokens());
        json.writeObjectFieldStart("output_tokens_details");
        json.writeNumberField("reasoning_tokens", usage.reasoningTokens());
        json.writeEndObject();
        json.writeNumberField("total_tokens", usage.totalTokens());
        json.writeEndObject();
    }

    static void chatHeader(JsonGenerator json, String id, String object, long created, String model) throws IOException {
        json.writeStringField("id", id);
        json.writeStringField("object", object);
        json.writeNumberField("created", created);
        json.writeStringField("model", model);
        json.writeStringField("service_tier", "default");
        json.writeStringField("system_fingerprint", FINGERPRINT);
    }

    /** An embedding in both wire encodings, computed once per size: a float array and base64 of float32s. */
    record Embedding(String json, String base64) {
    }

    /** A deterministic unit-length vector of the given size. */
    static Embedding embedding(int dimensions) {
        return EMBEDDINGS.computeIfAbsent(dimensions, d -> {
            float[] v = new float[d];
            long seed = 0x9E3779B97F4A7C15L;
            double norm = 0;
            for (int i = 0; i < d; i++) {
                seed ^= seed << 13;
                seed ^= seed >>> 7;
                seed ^= seed << 17;
                v[i] = (float) ((seed >>> 11) * 0x1.0p-53 - 0.5);
                norm += v[i] * v[i];
            }
            float scale = (float) (1 / Math.sqrt(norm));
            StringBuilder json = new StringBuilder(d * 12).append('[');
            ByteBuffer bytes = ByteBuffer.allocate(d * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < d; i++) {
                float f = v[i] * scale;
                json.append(i == 0 ? "" : ",").append(f);
                bytes.putFloat(f);
            }
            return new Embedding(json.append(']').toString(), Base64.getEncoder().encodeToString(bytes.array()));
        });
    }
}
