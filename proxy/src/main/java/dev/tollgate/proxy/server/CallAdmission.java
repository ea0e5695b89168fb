package dev.tollgate.proxy.server;

import dev.tollgate.config.IdentityConfig;
import dev.tollgate.proxy.admission.Admission;
import dev.tollgate.proxy.admission.Gate;
import dev.tollgate.proxy.admission.LoopDetector;
import dev.tollgate.proxy.http.ErrorResponse;
import dev.tollgate.proxy.http.RefusalResponse;
import dev.tollgate.proxy.http.TollgateHeaders;
import dev.tollgate.proxy.metering.CallMeter;
import dev.tollgate.proxy.metering.Metering;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufInputStream;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.Optional;

/**
 * Decides, before anything is forwarded, whether a {@code /v1} call may go out: its ids, who it belongs
 * to, whether its model has a price, whether it is a loop, and whether its budgets can pay for it.
 * Every refusal is answered here and recorded; an admitted call leaves with its meter and reservation.
 */
final class CallAdmission {

    /** The outcome: a response to send instead, or the admitted call. */
    record Decision(FullHttpResponse refusal, CallMeter meter, String agent) {
        static Decision refuse(FullHttpResponse response) {
            return new Decision(response, null, null);
        }
    }

    private final Gate gate;
    private final Metering metering;
    private final IdentityConfig identity;

    CallAdmission(Gate gate, Metering metering, IdentityConfig identity) {
        this.gate = gate;
        this.metering = metering;
        this.identity = identity;
    }

    /** Takes ownership of {@code request}: released on refusal, handed to the meter otherwise. */
    Decision decide(FullHttpRequest request, String path, boolean keepAlive, ByteBufAllocator alloc) {
        if (gate.draining()) {
            request.release();
            return Decision.refuse(new ErrorResponse(HttpResponseStatus.SERVICE_UNAVAILABLE, "api_error", "shutting_down",
                    "tollgate: the proxy is shutting down; retry on another instance or after its restart")
                    .toHttpResponse(alloc, false));
        }
        String agentHeader = request.headers().get(identity.agentHeader());
        String intent = request.headers().get(identity.intentHeader());
        if (agentHeader != null && !RequestIds.isValidAgent(agentHeader)) {
            request.release();
            return Decision.refuse(badId("invalid_agent_id", identity.agentHeader(), RequestIds.MAX_AGENT_LENGTH, alloc, keepAlive));
        }
        if (intent != null && !RequestIds.isValidIntent(intent)) {
            request.release();
            return Decision.refuse(badId("invalid_intent_id", identity.intentHeader(), RequestIds.MAX_INTENT_LENGTH, alloc, keepAlive));
        }
        Gate.Caller caller = gate.attribute(request.headers(), agentHeader);
        if (caller.refusal() != null) {
            request.release();
            return Decision.refuse(caller.refusal().toHttpResponse(alloc, keepAlive));
        }
        String agent = caller.agent();
        CallMeter meter = CallMeter.start(metering, agent, intent, path, request.method());
        meter.team(caller.team());
        Optional<ErrorResponse> refusedBody = meter.inspect(request);
        if (refusedBody.isPresent()) {
            request.release();
            meter.refused(refusedBody.get().status().code(), refusedBody.get().code());
            FullHttpResponse response = refusedBody.get().toHttpResponse(alloc, keepAlive);
            response.headers().set(TollgateHeaders.AGENT, agent);
            return Decision.refuse(response);
        }
        Admission.Refused refused = loopOrBudget(meter, agent, intent, caller.team());
        if (refused != null) {
            meter.request().release();
            meter.refused(HttpResponseStatus.TOO_MANY_REQUESTS.code(), refused.code());
            return Decision.refuse(RefusalResponse.of(refused, agent, intent, System.currentTimeMillis(), alloc, keepAlive));
        }
        return new Decision(null, meter, agent);
    }

    /** The loop detector, then the budgets (which reserve the call's worst case when they admit it). */
    private Admission.Refused loopOrBudget(CallMeter meter, String agent, String intent, String team) {
        if (meter.producesOutput() || meter.promptTokenBound() > 0) {
            LoopDetector.Loop loop = gate.loops().check(agent,
                    new ByteBufInputStream(meter.request().content().duplicate()), System.currentTimeMillis());
            if (loop != null && loop.firstReport()) {
                metering.loopDetected(agent, intent, team, loop.message(), loop.block());
            }
            if (loop != null && loop.block()) {
                return loop.refusal(agent);
            }
        }
        Admission admission = gate.budgets().admit(agent, intent, meter.promptTokenBound(), meter.requestedOutputCap(),
                meter.choices(), meter.price(), meter.producesOutput());
        if (admission instanceof Admission.Refused refused) {
            return refused;
        }
        meter.admitted((Admission.Admitted) admission, gate.budgets());
        return null;
    }

    private static FullHttpResponse badId(String code, String header, int maxLength, ByteBufAllocator alloc, boolean keepAlive) {
        return ErrorResponse.badRequest(code, header + " must be 1-" + maxLength
                + " characters of letters, digits and . _ - : @ /, starting with a letter or digit")
                .toHttpResponse(alloc, keepAlive);
    }
}
