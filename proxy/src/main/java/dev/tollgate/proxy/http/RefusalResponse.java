package dev.tollgate.proxy.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.tollgate.proxy.admission.Admission;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.time.Instant;

/**
 * The 429 of a refused call (SPEC §4): an OpenAI-shaped error with {@code type: insufficient_quota}, the
 * code, and a structured {@code tollgate} object; {@code Retry-After} (seconds to the window's reset,
 * 1 when the budget is only held by calls in flight, a day for a per-intent limit, which never resets,
 * absent for a pause) and
 * {@code x-should-retry: false}, so the official SDKs raise
 * their rate-limit exception once instead of retrying a call that cannot succeed.
 */
public final class RefusalResponse {

    private static final JsonFactory JSON = new JsonFactory();
    static final long INTENT_RETRY_AFTER_SECONDS = 86_400;

    private RefusalResponse() {
    }

    public static FullHttpResponse of(Admission.Refused refusal, String agent, String intent, long nowMs,
            ByteBufAllocator alloc, boolean keepAlive) {
        ByteBuf body = alloc.buffer(512);
        try (JsonGenerator json = JSON.createGenerator((OutputStream) new ByteBufOutputStream(body))) {
            json.writeStartObject();
            json.writeObjectFieldStart("error");
            json.writeStringField("message", refusal.reason());
            json.writeStringField("type", "insufficient_quota");
            json.writeNullField("param");
            json.writeStringField("code", refusal.code());
            json.writeObjectFieldStart("tollgate");
            json.writeStringField("agent", agent);
            json.writeStringField("intent", intent);
            json.writeStringField("limit", refusal.limit());
            json.writeStringField("limit_value", refusal.limitValue());
            json.writeStringField("spent", refusal.spent());
            json.writeStringField("resets_at", refusal.resetsAtMs() < 0 ? null : Instant.ofEpochMilli(refusal.resetsAtMs()).toString());
            json.writeEndObject();
            json.writeEndObject();
            json.writeEndObject();
        } catch (IOException e) {
            body.release();
            throw new UncheckedIOException(e);
        }
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.TOO_MANY_REQUESTS, body);
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes())
                .set(TollgateHeaders.SHOULD_RETRY, "false")
                .set(TollgateHeaders.AGENT, agent);
        if (refusal.heldInFlight()) {
            // The budget is held by calls in flight, not spent: it may free up within seconds.
            response.headers().set(HttpHeaderNames.RETRY_AFTER, "1");
        } else if (refusal.resetsAtMs() >= 0) {
            long seconds = Math.max(1, (refusal.resetsAtMs() - nowMs + 999) / 1000);
            response.headers().set(HttpHeaderNames.RETRY_AFTER, Long.toString(seconds));
        } else if (!refusal.code().equals("agent_paused")) {
            // A per-intent limit never resets: the intent is done. A day says "not soon" to whoever reads it.
            response.headers().set(HttpHeaderNames.RETRY_AFTER, Long.toString(INTENT_RETRY_AFTER_SECONDS));
        }
        if (!keepAlive) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        return response;
    }
}
