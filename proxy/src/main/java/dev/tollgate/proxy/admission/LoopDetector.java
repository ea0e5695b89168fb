package dev.tollgate.proxy.admission;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.tollgate.config.BreachAction;
import dev.tollgate.config.LoopDetectionConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HexFormat;
import java.util.Set;

/**
 * Catches the runaway loop itself: the same agent sending the same request (model plus messages, input
 * or prompt, compared as JSON so whitespace does not matter) more than {@code max_identical_requests}
 * times within {@code window_seconds}. Each repeat past the allowed count is a loop; the first raises a
 * {@code loop} event, and with {@code action: block} every further repeat is refused with 429
 * {@code loop_detected} until the window has room again. A different request goes through.
 */
public final class LoopDetector {

    private static final JsonFactory JSON = new JsonFactory();
    private static final Set<String> COMPARED = Set.of("model", "messages", "input", "prompt", "instructions");

    private final LoopDetectionConfig config;
    private final Cache<String, ArrayDeque<Long>> seen;
    private final Cache<String, Boolean> reported;

    public LoopDetector(LoopDetectionConfig config) {
        this.config = config;
        Duration window = Duration.ofSeconds(Math.max(1, config.windowSeconds()));
        this.seen = Caffeine.newBuilder().expireAfterAccess(window).maximumSize(1_000_000).build();
        this.reported = Caffeine.newBuilder().expireAfterWrite(window).maximumSize(100_000).build();
    }

    /** A repeat seen too often: whether to refuse it, and the words for the event and the refusal. */
    public record Loop(boolean block, boolean firstReport, int count, int allowed, long resetsAtMs, String message) {

        /** The 429 of a blocked repeat: {@code Retry-After} is when the window has room again. */
        public Admission.Refused refusal(String agent) {
            return new Admission.Refused("loop_detected", "agent '" + agent + "'", "loop_detection.max_identical_requests",
                    Integer.toString(allowed), Integer.toString(count), resetsAtMs, "tollgate: " + message + "; the repeat is refused",
                    false);
        }
    }

    /** Counts this request; returns the loop it is part of, or null. Cheap enough for the event loop. */
    public Loop check(String agent, InputStream body, long nowMs) {
        if (!config.configured()) {
            return null;
        }
        String key = agent + "|" + fingerprint(body);
        long windowMs = config.windowSeconds() * 1_000L;
        ArrayDeque<Long> times = seen.get(key, k -> new ArrayDeque<>());
        int count;
        long oldest;
        synchronized (times) {
            while (!times.isEmpty() && times.peekFirst() <= nowMs - windowMs) {
                times.pollFirst();
            }
            times.addLast(nowMs);
            count = times.size();
            oldest = times.peekFirst();
        }
        if (count <= config.maxIdenticalRequests()) {
            return null;
        }
        boolean first = reported.asMap().putIfAbsent(key, Boolean.TRUE) == null;
        boolean block = config.action() == BreachAction.BLOCK;
        String message = "agent '" + agent + "' sent the same request " + count + " times within " + config.windowSeconds()
                + " s (loop_detection.max_identical_requests: " + config.maxIdenticalRequests() + ")";
        return new Loop(block, first, count, config.maxIdenticalRequests(), nowMs + Math.max(1_000, oldest + windowMs - nowMs), message);
    }

    /** SHA-256 of the compared fields, re-serialised compactly, in the order they came. */
    static String fingerprint(InputStream body) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            try (JsonParser parser = JSON.createParser(body);
                    JsonGenerator out = JSON.createGenerator(new DigestSink(digest))) {
                if (parser.nextToken() != JsonToken.START_OBJECT) {
                    return "not-json";
                }
                out.writeStartObject();
                while (parser.nextToken() == JsonToken.FIELD_NAME) {
                    String name = parser.currentName();
                    parser.nextToken();
                    if (COMPARED.contains(name)) {
                        out.writeFieldName(name);
                        out.copyCurrentStructure(parser);
                    } else {
                        parser.skipChildren();
                    }
                }
                out.writeEndObject();
            }
            return HexFormat.of().formatHex(digest.digest(), 0, 16);
        } catch (IOException e) {
            return "not-json";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** Feeds what the generator writes into the digest. */
    private static final class DigestSink extends OutputStream {
        private final MessageDigest digest;

        DigestSink(MessageDigest digest) {
            this.digest = digest;
        }

        @Override
        public void write(int b) {
            digest.update((byte) b);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            digest.update(b, off, len);
        }
    }
}
