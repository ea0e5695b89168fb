package dev.tollgate.proxy.http;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonFactory;
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
import java.io.UncheckedIOException;

/**
 * An OpenAI-shaped error (SPEC §4), so that the official SDKs raise their usual exception types. The
 * {@code message} always starts with {@code tollgate:} so that a human reading an agent's log can tell a
 * refusal by the proxy from one by the provider.
 */
public record ErrorResponse(HttpResponseStatus status, String type, String code, String message) {

    private static final JsonFactory JSON = new JsonFactory();

    public static ErrorResponse requestTooLarge(long limitBytes) {
        return new ErrorResponse(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "invalid_request_error", "request_too_large",
                "tollgate: request body is larger than limits.max_request_bytes (" + limitBytes + " bytes)");
    }

    public static ErrorResponse upstreamUnavailable(String detail) {
        return new ErrorResponse(HttpResponseStatus.BAD_GATEWAY, "api_error", "upstream_unavailable",
                "tollgate: the provider could not be reached (" + detail + "); nothing was charged");
    }

    public static ErrorResponse upstreamTimeout(long timeoutMs) {
        return new ErrorResponse(HttpResponseStatus.GATEWAY_TIMEOUT, "api_error", "upstream_timeout",
                "tollgate: the provider did not answer within upstream.response_timeout_ms (" + timeoutMs
                        + " ms); nothing was charged");
    }

    /** The model has no price and {@code pricing.unknown_model} is {@code block}. */
    public static ErrorResponse unpricedModel(String model, java.nio.file.Path priceFile) {
        String where = priceFile != null ? "add it to " + priceFile
                : "add it to a price file named by pricing.file";
        return new ErrorResponse(HttpResponseStatus.BAD_REQUEST, "invalid_request_error", "unpriced_model",
                "tollgate: model '" + model + "' has no price, so its calls cannot be charged; " + where
                        + " (models: {" + model + ": {input: ..., cached_input: ..., output: ...}}, USD per million tokens)"
                        + " or set pricing.unknown_model: allow");
    }

    public static ErrorResponse badRequest(String code, String message) {
        return new ErrorResponse(HttpResponseStatus.BAD_REQUEST, "invalid_request_error", code, "tollgate: " + message);
    }

    public static ErrorResponse notFound(String method, String path) {
        return new ErrorResponse(HttpResponseStatus.NOT_FOUND, "invalid_request_error", "not_found",
                "tollgate: no route for " + method + " " + path + "; agents call /v1/... with OPENAI_BASE_URL=http://HOST:PORT/v1");
    }

    /** The JSON body as bytes, for callers off the event loop. */
    public byte[] jsonBytes() {
        ByteBuf buf = body(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT);
        try {
            return io.netty.buffer.ByteBufUtil.getBytes(buf);
        } finally {
            buf.release();
        }
    }

    /** The JSON body, written with Jackson so that any text in the message is escaped correctly. */
    public ByteBuf body(ByteBufAllocator alloc) {
        ByteBuf buf = alloc.buffer(256);
        try (JsonGenerator json = JSON.createGenerator((java.io.OutputStream) new ByteBufOutputStream(buf))) {
            json.writeStartObject();
            json.writeObjectFieldStart("error");
            json.writeStringField("message", message);
            json.writeStringField("type", type);
            json.writeNullField("param");
            json.writeStringField("code", code);
            json.writeEndObject();
            json.writeEndObject();
        } catch (IOException e) {
            buf.release();
            throw new UncheckedIOException(e);
        }
        return buf;
    }

    /** A complete response carrying this error; {@code keepAlive false} adds {@code Connection: close}. */
    public FullHttpResponse toHttpResponse(ByteBufAllocator alloc, boolean keepAlive) {
        ByteBuf body = body(alloc);
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        if (!keepAlive) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        return response;
    }
}
