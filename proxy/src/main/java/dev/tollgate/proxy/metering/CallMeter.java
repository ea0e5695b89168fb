package dev.tollgate.proxy.metering;

import dev.tollgate.config.UnknownModelPolicy;
import dev.tollgate.pricing.Endpoint;
import dev.tollgate.pricing.MeterReading;
import dev.tollgate.pricing.ModelPrice;
import dev.tollgate.pricing.OutputCap;
import dev.tollgate.pricing.PricedModel;
import dev.tollgate.pricing.RequestFacts;
import dev.tollgate.pricing.ResponseMeter;
import dev.tollgate.pricing.SseStreamMeter;
import dev.tollgate.pricing.Usage;
import dev.tollgate.pricing.UsageInjection;
import dev.tollgate.pricing.UsageSource;
import dev.tollgate.pricing.UsdNanos;
import dev.tollgate.proxy.admission.Admission;
import dev.tollgate.proxy.admission.Budgets;
import dev.tollgate.proxy.admission.Reservation;
import dev.tollgate.proxy.http.ErrorResponse;
import dev.tollgate.proxy.http.Utf8;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Meters one call from request to record. It lives on the call's event loop: it reads the request's
 * model and stream flags, asks the provider for stream usage on the agent's behalf when the agent did
 * not, watches the response go by, and at the end prices the usage the provider reported, or hands the
 * request and the streamed text to the counting thread when the provider reported none.
 *
 * <p>Watching never delays the agent: each piece of a response is written and flushed first and read
 * afterwards ({@link #afterFlush()}). Only a stream whose usage chunk must be removed is read before it
 * is written, one whole event at a time.
 */
public final class CallMeter {

    private static final Logger log = LoggerFactory.getLogger(CallMeter.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** How a call ended, which decides what it is charged. */
    public enum Ending {
        /** The whole response reached the agent. */
        COMPLETED,
        /** The agent disconnected, before or during the response. */
        AGENT_GONE,
        /** The provider's connection failed mid-response. */
        PROVIDER_CUT,
        /** The provider never answered (502, 504): nothing is charged. */
        NO_RESPONSE
    }

    private final Metering metering;
    private final String agent;
    private final String intent;
    private String team;
    private final String path;
    private final Endpoint endpoint;
    private final long startedAtMs;
    private final long startedNanos;
    private final ArrayDeque<ByteBuf> unread = new ArrayDeque<>(4);

    private FullHttpRequest current;
    private RequestFacts facts = RequestFacts.NOT_JSON;
    private ByteBuf requestBody;
    private boolean injected;
    private boolean sent;
    private int status;
    private boolean streamed;
    private ResponseMeter meter;
    private ByteBuf rewriteTarget;
    private MeterReading finalReading;
    private boolean recorded;
    private Reservation reservation = Reservation.NONE;
    private Budgets budgets;
    private long budgetRemainingNanos = -1;
    private Executor publishOn;

    CallMeter(Metering metering, String agent, String intent, String path, Endpoint endpoint) {
        this.metering = metering;
        this.agent = agent;
        this.intent = intent;
        this.path = path;
        this.endpoint = endpoint;
        this.startedAtMs = metering.clock.millis();
        this.startedNanos = System.nanoTime();
    }

    /** A meter for a request to {@code path} (the agent-facing path, {@code /v1/...}, without query). */
    public static CallMeter start(Metering metering, String agent, String intent, String path, HttpMethod method) {
        Endpoint endpoint = HttpMethod.POST.equals(method)
                ? Endpoint.of(path.substring("/v1".length())).orElse(null) : null;
        return new CallMeter(metering, agent, intent, path, endpoint);
    }

    /**
     * Reads the request before it is forwarded. Returns the refusal to send instead (a body that is not a
     * JSON object with a model, or an unpriced model under {@code unknown_model: block}), or empty; in that
     * case {@link #request()} may differ from the given one, which this meter then owns.
     */
    public Optional<ErrorResponse> inspect(FullHttpRequest request) {
        current = request;
        if (endpoint == null) {
            return Optional.empty();
        }
        // Usage is read from the bytes as they pass, so a metered response must not come compressed.
        request.headers().set(HttpHeaderNames.ACCEPT_ENCODING, HttpHeaderValues.IDENTITY);
        // First, so that every reader of the body after this one (the facts, the loop fingerprint, the
        // rewrites, the token count) has valid UTF-8: on invalid UTF-8 in a key, what Jackson reads depends on
        // the keys it read before (see UntrustedJson), so a refusal could otherwise vary with the traffic.
        if (!Utf8.isWellFormed(request.content())) {
            facts = RequestFacts.NOT_JSON;
            return Optional.of(ErrorResponse.badRequest("malformed_request", "the request body is not valid UTF-8"));
        }
        try (InputStream in = new ByteBufInputStream(request.content().duplicate())) {
            facts = RequestFacts.scan(in);
        } catch (IOException e) {
            facts = RequestFacts.NOT_JSON;
        }
        Optional<ErrorResponse> malformed = malformed(facts);
        if (malformed.isPresent()) {
            return malformed;
        }
        if (metering.prices.resolve(facts.model()).isEmpty()
                && metering.unknownModels == UnknownModelPolicy.BLOCK) {
            return Optional.of(ErrorResponse.unpricedModel(facts.model(), metering.prices.priceFile().orElse(null)));
        }
        if (facts.needsUsageInjection(endpoint)) {
            try {
                byte[] body = UsageInjection.inject(ByteBufUtil.getBytes(request.content()), facts);
                current = request.replace(Unpooled.wrappedBuffer(body));
                request.release();
                injected = true;
            } catch (IOException | RuntimeException e) {
                log.debug("could not add include_usage to a streamed request; it will be counted", e);
            }
        }
        requestBody = current.content().retainedDuplicate();
        return Optional.empty();
    }

    /**
     * A metered call must be a JSON object (in valid UTF-8, checked before) with a string {@code model}:
     * anything else would be priced on a guess (or at $0) while the provider might read it differently, so it
     * is refused here and never forwarded. The provider itself would refuse such a body anyway.
     */
    private static Optional<ErrorResponse> malformed(RequestFacts facts) {
        if (!facts.validJson()) {
            return Optional.of(ErrorResponse.badRequest("malformed_request",
                    "the request body is not a JSON object (or not valid JSON)"));
        }
        if (facts.model() == null) {
            return Optional.of(ErrorResponse.badRequest("malformed_request",
                    "the request body has no \"model\" string naming the model to call"));
        }
        return Optional.empty();
    }

    /** The request to forward: the agent's, or its copy asking for stream usage. */
    public FullHttpRequest request() {
        return current;
    }

    /** The model's price, or null when the call costs nothing (unmetered endpoint, unpriced model). */
    public ModelPrice price() {
        if (endpoint == null || facts.model() == null) {
            return null;
        }
        return metering.prices.resolve(facts.model()).map(PricedModel::price).orElse(null);
    }

    /** An upper bound of the call's input tokens: a token is at least one byte of the body. */
    public long promptTokenBound() {
        return endpoint == null ? 0 : current.content().readableBytes();
    }

    /** How many completions the call asks for ({@code n}). */
    public int choices() {
        return facts.choices();
    }

    /** The output cap the agent asked for, or -1. */
    public long requestedOutputCap() {
        return facts.outputCap();
    }

    /** Whether the call produces output tokens (everything metered but embeddings). */
    public boolean producesOutput() {
        return endpoint != null && endpoint != Endpoint.EMBEDDINGS;
    }

    /**
     * Takes the admission's reservation, to settle when the call is recorded, and lowers the request's
     * output cap when the budget cannot pay for the one asked for.
     */
    public void admitted(Admission.Admitted admission, Budgets owner) {
        this.reservation = admission.reservation();
        this.budgets = owner;
        this.budgetRemainingNanos = admission.remainingNanos();
        if (admission.outputCap() >= 0 && endpoint != null) {
            try {
                byte[] lowered = OutputCap.lower(ByteBufUtil.getBytes(current.content()), endpoint, admission.outputCap());
                FullHttpRequest previous = current;
                current = previous.replace(Unpooled.wrappedBuffer(lowered));
                previous.release();
                if (requestBody != null) {
                    requestBody.release();
                }
                requestBody = current.content().retainedDuplicate();
            } catch (IOException | RuntimeException e) {
                log.debug("could not lower the output cap; the reservation still bounds the call", e);
            }
        }
    }

    /** The smallest remaining amount across the agent's cost limits before this call, or -1. */
    public long budgetRemainingNanos() {
        return budgetRemainingNanos;
    }

    /** The team the call is charged to, from the agent's config entry. */
    public void team(String teamName) {
        this.team = teamName;
    }

    /** The request went out to the provider. */
    public void sent() {
        sent = true;
    }

    public void onResponseHead(HttpResponse response) {
        status = response.status().code();
        String type = response.headers().get(HttpHeaderNames.CONTENT_TYPE, "");
        streamed = type.startsWith("text/event-stream");
        if (endpoint == null || status < 200 || status >= 300) {
            return;
        }
        String encoding = response.headers().get(HttpHeaderNames.CONTENT_ENCODING);
        if (encoding != null && !encoding.equalsIgnoreCase("identity")) {
            // The provider compressed anyway: the call is counted rather than read.
            return;
        }
        if (streamed && injected) {
            // Outside relay() (a stream cut mid-event, finished in complete()) there is nowhere to write: drop.
            meter = new SseStreamMeter((bytes, offset, length) -> {
                if (rewriteTarget != null) {
                    rewriteTarget.writeBytes(bytes, offset, length);
                }
            });
        } else {
            meter = ResponseMeter.forResponse(endpoint, streamed);
        }
    }

    /** True when the response is an event stream ({@code text/event-stream}); known once its head is read. */
    public boolean streamed() {
        return streamed;
    }

    /** True when the response body is rewritten, so its length is no longer the provider's. */
    public boolean rewritesBody() {
        return injected && meter instanceof SseStreamMeter;
    }

    /**
     * What to write to the agent for this piece of the response: the piece itself (read later, after the
     * flush), or, for a stream being rewritten, the whole events it completes with the usage removed.
     */
    public HttpContent relay(HttpContent content, ByteBufAllocator alloc) {
        if (meter == null) {
            return content;
        }
        if (!rewritesBody()) {
            unread.add(content.content().retainedDuplicate());
            return content;
        }
        boolean last = content instanceof LastHttpContent;
        ByteBuf out = alloc.buffer(content.content().readableBytes() + 64);
        rewriteTarget = out;
        try {
            meter.feed(content.content().nioBuffer());
            if (last) {
                finalReading = meter.finish();
            }
        } catch (RuntimeException e) {
            out.release();
            throw e;
        } finally {
            rewriteTarget = null;
        }
        return rewritten(content, out, last);
    }

    /**
     * For a stream being rewritten ({@link #rewritesBody()}), a piece that is not the last: the whole events
     * it completes, usage removed, are appended to {@code target}, the buffer the caller gathers this read's
     * output in, which saves a buffer and a copy per piece. The piece is released.
     */
    public void rewriteInto(HttpContent content, ByteBuf target) {
        rewriteTarget = target;
        try {
            meter.feed(content.content().nioBuffer());
        } finally {
            rewriteTarget = null;
            content.release();
        }
    }

    private static HttpContent rewritten(HttpContent content, ByteBuf out, boolean last) {
        HttpContent rewritten;
        if (last) {
            LastHttpContent end = new DefaultLastHttpContent(out);
            end.trailingHeaders().set(((LastHttpContent) content).trailingHeaders());
            rewritten = end;
        } else {
            rewritten = new DefaultHttpContent(out);
        }
        content.release();
        return rewritten;
    }

    /** Reads what was written since the last flush; called right after each flush to the agent. */
    public void afterFlush() {
        ByteBuf piece;
        while ((piece = unread.poll()) != null) {
            try {
                meter.feed(piece.nioBuffer());
            } finally {
                piece.release();
            }
        }
    }

    /** Ends metering and records the call, once; {@code finalStatus} is what the agent got. */
    public void complete(int finalStatus, Ending ending) {
        if (recorded) {
            return;
        }
        recorded = true;
        if (meter != null) {
            afterFlush();
            if (finalReading == null) {
                finalReading = meter.finish();
            }
        }
        int agentStatus = finalStatus != 0 ? finalStatus : status != 0 ? status : CallRecord.AGENT_CLOSED_REQUEST;
        long latencyMs = (System.nanoTime() - startedNanos) / 1_000_000;
        MeterReading reading = finalReading;
        boolean providerAnswered = status >= 200 && status < 300;
        if (endpoint == null || !sent || ending == Ending.NO_RESPONSE || (status >= 300 && reading == null)) {
            releaseBody();
            record(facts.model(), agentStatus, Usage.NONE, UsageSource.NONE, latencyMs, false);
            return;
        }
        String model = reading != null && reading.model() != null ? reading.model() : facts.model();
        if (reading != null && reading.reportedUsage() != null) {
            releaseBody();
            record(model, agentStatus, reading.reportedUsage(), UsageSource.REPORTED, latencyMs, true);
            return;
        }
        if (!providerAnswered && ending == Ending.COMPLETED) {
            releaseBody();
            record(model, agentStatus, Usage.NONE, UsageSource.NONE, latencyMs, false);
            return;
        }
        String generated = reading == null ? "" : reading.generatedText();
        ByteBuf body = requestBody;
        requestBody = null;
        metering.counting.execute(() -> {
            Usage counted;
            try {
                counted = count(model, body, generated);
            } catch (RuntimeException e) {
                // The row and the settlement must happen anyway: a call is never left unrecorded.
                log.error("counting the tokens of a call of agent {} failed; recording it without tokens", agent, e);
                counted = Usage.NONE;
            }
            record(model, agentStatus, counted, UsageSource.COUNTED, latencyMs, true);
        });
    }

    /** Counts the prompt of the request and the text streamed so far; runs on the counting thread. */
    private Usage count(String model, ByteBuf body, String generated) {
        long input = 0;
        if (body == null) {
            return new Usage(0, 0, metering.tokens.countText(model, generated), 0);
        }
        try (InputStream in = new ByteBufInputStream(body, true)) {
            JsonNode request = JSON.readTree(in);
            if (request != null && request.isObject()) {
                input = metering.tokens.countInput(endpoint, model, request);
            }
        } catch (IOException | RuntimeException e) {
            log.debug("request body of a counted call is not JSON; counting its output only", e);
        }
        long output = metering.tokens.countText(model, generated);
        return new Usage(input, 0, output, 0);
    }

    private void record(String model, int agentStatus, Usage usage, UsageSource source, long latencyMs, boolean priced) {
        UsdNanos cost = UsdNanos.ZERO;
        boolean unpriced = false;
        if (priced && model != null) {
            Optional<PricedModel> price = metering.prices.resolve(model);
            if (price.isPresent()) {
                cost = price.get().price().cost(usage);
            } else {
                unpriced = true;
                metering.noteUnpriced(model, agent, intent);
            }
        } else if (priced) {
            unpriced = true;
        }
        if (budgets != null) {
            budgets.settle(reservation, cost.value(), usage.totalTokens());
        }
        CallRecord call = new CallRecord(startedAtMs, agent, intent, team, path, model, agentStatus, streamed,
                usage, cost, source, latencyMs, unpriced, refusedByTollgate, refusalCode);
        if (publishOn == null) {
            publish(call);
            return;
        }
        try {
            publishOn.execute(() -> publish(call));
        } catch (RejectedExecutionException e) {
            publish(call);  // the event loop is shutting down: a row is never dropped
        }
    }

    private void publish(CallRecord call) {
        try {
            metering.sink.record(call);
        } catch (RuntimeException e) {
            log.error("could not record a call of agent {}", agent, e);
        }
    }

    /**
     * Publishes the call's record (ledger row, metrics, call log) as a task on {@code executor} rather than
     * inline. The exchange passes its event loop: the record is then written right after the response's
     * last bytes are flushed instead of before them. Settling the budget stays inline, before the flush,
     * so the agent's next call always sees this one's real cost.
     */
    public void publishOn(Executor executor) {
        this.publishOn = executor;
    }

    private void releaseBody() {
        if (requestBody != null) {
            requestBody.release();
            requestBody = null;
        }
    }

    /** Records a call that Tollgate refused before forwarding it, with the status the agent got. */
    public void refused(int agentStatus, String code) {
        discard();
        refusedByTollgate = true;
        refusalCode = code;
        record(facts.model(), agentStatus, Usage.NONE, UsageSource.NONE, (System.nanoTime() - startedNanos) / 1_000_000, false);
    }

    private boolean refusedByTollgate;
    private String refusalCode;

    /** Frees what the meter holds when a call is dropped before it was ever forwarded. */
    public void discard() {
        recorded = true;
        releaseBody();
        ByteBuf piece;
        while ((piece = unread.poll()) != null) {
            piece.release();
        }
    }
}
