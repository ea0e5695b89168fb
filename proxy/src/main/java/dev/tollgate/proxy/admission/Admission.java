package dev.tollgate.proxy.admission;

/** The answer to "may this call go out?". */
public sealed interface Admission {

    /**
     * The call may go out.
     *
     * @param outputCap the output cap to forward instead of the agent's, or -1 to leave the request as is
     * @param remainingNanos the smallest remaining amount across the agent's cost limits before this call,
     *     or -1 when none applies
     */
    record Admitted(Reservation reservation, long outputCap, long remainingNanos) implements Admission {
    }

    /**
     * The call is refused with 429.
     *
     * @param code {@code budget_exceeded}, {@code rate_limit_exceeded}, {@code intent_budget_exceeded}
     *     or {@code agent_paused}
     * @param scope who the limit belongs to, for the message: "agent 'x'", "team 'support'", "the global budget"
     * @param resetsAtMs when the window resets, or -1 (pause, per-intent limits)
     * @param heldInFlight true when the limit is not spent but held by calls in flight, which settle soon
     */
    record Refused(String code, String scope, String limit, String limitValue, String spent, long resetsAtMs,
            String reason, boolean heldInFlight) implements Admission {

        Refused(String code, String scope, String limit, String limitValue, String spent, long resetsAtMs, String reason) {
            this(code, scope, limit, limitValue, spent, resetsAtMs, reason, false);
        }
    }
}
