package dev.tollgate.proxy.admission;

import dev.tollgate.config.AgentPolicy;
import dev.tollgate.config.BreachAction;
import dev.tollgate.config.Limit;
import dev.tollgate.config.TollgateConfig;
import dev.tollgate.config.Window;
import dev.tollgate.pricing.ModelPrice;
import dev.tollgate.proxy.alerts.AlertEvent;
import dev.tollgate.pricing.Usage;
import dev.tollgate.storage.Spend;
import dev.tollgate.storage.SpendSnapshot;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The budgets of every agent, team and the whole fleet, and the admission decision that keeps them.
 *
 * <p>A call is admitted against its worst case: its prompt plus its output cap (its own
 * {@code max_tokens}, or {@code limits.default_output_tokens}), priced, reserved in every window it counts
 * against, and settled to its actual cost when it ends. When the remaining budget cannot pay for the
 * output cap, the cap is lowered to what it can pay for; when it cannot pay for the prompt, the call is
 * refused. Admission and settlement take one lock for a few microseconds, so concurrent calls on any
 * number of event loops can never together spend past a cap: each sees what the others reserved.
 */
public final class Budgets {

    /**
     * Receives the events budgets raise, each once per limit and window: {@code blocked} (a call refused),
     * {@code alert} (a limit reached under {@code action_on_breach: alert}, {@code alert_at} crossed, or a
     * projection), {@code anomaly} (an intent's cost spiking). Implementations must not block.
     */
    public interface Events extends java.util.function.Consumer<AlertEvent> {
    }

    private static final int MAX_INTENTS = 200_000;

    private final ReentrantLock lock = new ReentrantLock();
    private final Clock clock;
    private final Events events;
    private volatile TollgateConfig config;
    private volatile AgentPlans plans;
    private final Map<String, ScopeCounters> agentScopes = new HashMap<>();
    private final Map<String, ScopeCounters> teamScopes = new HashMap<>();
    private final ScopeCounters globalScope = ScopeCounters.global();
    private final LinkedHashMap<String, IntentCounter> intents = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, IntentCounter> eldest) {
            return size() > MAX_INTENTS;
        }
    };
    private final Map<String, String> paused = new HashMap<>();
    private final Set<String> reported = new HashSet<>();
    private final SpendWatch watch = new SpendWatch();

    public Budgets(TollgateConfig config, Clock clock, Events events) {
        this.config = config;
        this.plans = new AgentPlans(config);
        this.clock = clock;
        this.events = events;
    }

    /** Applies a new config; what was spent and reserved stays. */
    public void reconfigure(TollgateConfig newConfig) {
        this.plans = new AgentPlans(newConfig);
        this.config = newConfig;
    }

    /** Starts the counters from what the ledger says was spent in each current window (restart). */
    public void seed(Map<Window, SpendSnapshot> spentPerWindow, Map<String, Boolean> pausedAgents,
            Map<String, String> pauseReasons) {
        lock.lock();
        try {
            long now = clock.millis();
            ZoneId zone = config.timeZone();
            for (Map.Entry<Window, SpendSnapshot> entry : spentPerWindow.entrySet()) {
                Window window = entry.getKey();
                SpendSnapshot spend = entry.getValue();
                spend.byAgent().forEach((agent, s) -> load(agentScope(agent).in(window, now, zone), s));
                spend.byTeam().forEach((team, s) -> load(teamScope(team).in(window, now, zone), s));
                load(globalScope.in(window, now, zone), spend.global());
                spend.intentsStartedByAgent().forEach((agent, n) -> agentScope(agent).in(window, now, zone).intents = n);
                spend.byIntent().forEach((intent, s) -> {
                    IntentCounter counter = intents.computeIfAbsent(intent, k -> new IntentCounter());
                    counter.costNanos = Math.max(counter.costNanos, s.costNanos());
                    counter.requests = Math.max(counter.requests, s.requests());
                });
            }
            pausedAgents.forEach((agent, isPaused) -> {
                if (isPaused) {
                    paused.put(agent, pauseReasons.getOrDefault(agent, ""));
                }
            });
        } finally {
            lock.unlock();
        }
    }

    private static void load(WindowCounter counter, Spend spend) {
        counter.costNanos = spend.costNanos();
        counter.requests = spend.requests();
        counter.tokens = spend.tokens();
    }

    public void pause(String agent, String reason) {
        lock.lock();
        try {
            paused.put(agent, reason == null ? "" : reason);
        } finally {
            lock.unlock();
        }
    }

    public void resume(String agent) {
        lock.lock();
        try {
            paused.remove(agent);
        } finally {
            lock.unlock();
        }
    }

    public boolean isPaused(String agent) {
        lock.lock();
        try {
            return paused.containsKey(agent);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Decides whether a call may go out, and reserves its worst case if so.
     *
     * @param promptTokens an upper bound of the call's input tokens
     * @param outputCap the call's own output cap, or -1 for none
     * @param price the model's price, or null for a call that costs nothing (unmetered, unpriced)
     */
    public Admission admit(String agent, String intent, long promptTokens, long outputCap, ModelPrice price,
            boolean producesOutput) {
        return admit(agent, intent, promptTokens, outputCap, 1, price, producesOutput);
    }

    /**
     * As {@link #admit(String, String, long, long, ModelPrice, boolean)}, for a call asking for several
     * completions ({@code n}): each may use the whole output cap.
     */
    public Admission admit(String agent, String intent, long promptTokens, long outputCap, int choices, ModelPrice price,
            boolean producesOutput) {
        AgentPlans currentPlans = plans;
        TollgateConfig cfg = currentPlans.config();
        AgentPlans.Plan plan = currentPlans.of(agent);
        AgentPolicy policy = plan.policy();
        long now = clock.millis();
        ZoneId zone = cfg.timeZone();
        boolean alertOnly = policy.breachAction() == BreachAction.ALERT;
        lock.lock();
        try {
            if (paused.containsKey(agent)) {
                String reason = paused.get(agent);
                return new Admission.Refused("agent_paused", "agent '" + agent + "'", "paused", null, null, -1,
                        "tollgate: agent '" + agent + "' is paused" + (reason.isEmpty() ? "" : " (" + reason + ")")
                                + "; resume it with tollgate resume " + agent);
            }
            ScopeCounters agentScope = agentScope(agent);
            ScopeCounters teamScope = policy.team() == null ? null : teamScope(policy.team());
            List<ScopedLimit> limits = scopedLimits(plan, agentScope, teamScope, now, zone);
            String intentKey = intent == null ? null : SpendSnapshot.intentKey(agent, intent);
            IntentCounter intentCounter = intent == null ? null : intents.get(intentKey);
            boolean newIntent = intent != null && intentCounter == null;

            long defaultOutput = cfg.limits().defaultOutputTokens();
            long wantedOutput = !producesOutput ? 0 : outputCap > 0 ? outputCap : defaultOutput;
            long allowedOutput = wantedOutput;
            long remainingCost = Long.MAX_VALUE;
            boolean outputBounded = false;
            int n = Math.max(1, choices);
            Admission.Refused breach = null;

            for (ScopedLimit s : limits) {
                WindowCounter c = s.counter();
                long value = s.limit().units();
                Admission.Refused found = switch (s.limit().kind()) {
                    case REQUESTS -> c.requests + 1 > value ? refusal("rate_limit_exceeded", s, c.requests, c) : null;
                    case INTENTS -> newIntent && c.intents + 1 > value ? refusal("rate_limit_exceeded", s, c.intents, c) : null;
                    case TOKENS -> {
                        long left = (value - c.tokens - c.reservedTokens - promptTokens) / n;
                        if (left < (producesOutput ? 1 : 0)) {
                            yield refusal("budget_exceeded", s, c.tokens, c);
                        }
                        allowedOutput = Math.min(allowedOutput, left);
                        outputBounded = true;
                        yield null;
                    }
                    case COST -> {
                        long left = value - c.costNanos - c.reservedCost;
                        remainingCost = Math.min(remainingCost, value - c.costNanos);
                        if (price == null) {
                            yield left <= 0 ? refusal("budget_exceeded", s, c.costNanos, c) : null;
                        }
                        long afford = affordableOutput(price, promptTokens, left);
                        if (left <= 0 || afford < (producesOutput ? 1 : 0)) {
                            yield refusal("budget_exceeded", s, c.costNanos, c);
                        }
                        allowedOutput = Math.min(allowedOutput, afford == Long.MAX_VALUE ? afford : afford / n);
                        outputBounded = true;
                        yield null;
                    }
                };
                if (found != null && (breach == null || !ownLimit(found) && ownLimit(breach))) {
                    // A team or global breach outranks the agent's own: action_on_breach cannot wave it through.
                    breach = found;
                }
            }
            if (breach == null && intent != null) {
                breach = checkIntent(agent, intent, plan, intentCounter, promptTokens, price, producesOutput);
                if (breach == null && plan.intentCapNanos() >= 0 && price != null) {
                    long cap = plan.intentCapNanos();
                    long left = cap - (intentCounter == null ? 0 : intentCounter.costNanos + intentCounter.reservedCost);
                    long afford = affordableOutput(price, promptTokens, left);
                    allowedOutput = Math.min(allowedOutput, afford == Long.MAX_VALUE ? afford : afford / n);
                    outputBounded = true;
                    remainingCost = Math.min(remainingCost, cap - (intentCounter == null ? 0 : intentCounter.costNanos));
                }
            }
            if (breach != null) {
                String key = breach.scope() + "|" + breach.limit() + "|" + breach.resetsAtMs();
                boolean first = reported.add(key);
                if (reported.size() > 50_000) {
                    reported.clear();
                }
                // action_on_breach is the agent's own: a team or global cap stops its calls regardless.
                if (!alertOnly || !ownLimit(breach)) {
                    if (first) {
                        raiseLater(event(now, "blocked", agent, intent, policy.team(), breach.reason(), breach));
                    }
                    return breach;
                }
                if (first) {
                    raiseLater(event(now, "alert", agent, intent, policy.team(),
                            breach.reason().replace(" is over ", " reached ") + " (let through: action_on_breach is alert)", breach));
                }
                allowedOutput = wantedOutput;
            }
            long reservedOutput = Math.max(0, allowedOutput) * n;
            long reserveCost = price == null ? 0 : price.cost(new Usage(promptTokens, 0, reservedOutput, 0)).value();
            long reserveTokens = promptTokens + reservedOutput;
            // Every window of every scope keeps counting, limited or not, so a limit added by a reload
            // starts from what was really used in its window.
            List<WindowCounter> held = new ArrayList<>(15);
            agentScope.allInto(held, now, zone);
            if (teamScope != null) {
                teamScope.allInto(held, now, zone);
            }
            globalScope.allInto(held, now, zone);
            long[] starts = new long[held.size()];
            for (int i = 0; i < held.size(); i++) {
                WindowCounter c = held.get(i);
                c.requests++;
                c.reservedCost += reserveCost;
                c.reservedTokens += reserveTokens;
                if (newIntent) {
                    c.intents++;
                }
                starts[i] = c.startMs;
            }
            if (intent != null) {
                if (intentCounter == null) {
                    intentCounter = new IntentCounter();
                    intents.put(intentKey, intentCounter);
                }
                intentCounter.requests++;
                intentCounter.reservedCost += reserveCost;
            }
            // Under a cost or token limit the output cap is always explicit: a call that names none could
            // otherwise generate past what was reserved for it.
            boolean capMissing = outputCap <= 0 && outputBounded;
            long newCap = producesOutput && breach == null && (allowedOutput < wantedOutput || capMissing) ? allowedOutput : -1;
            Reservation reservation = new Reservation(held, starts, intentCounter, reserveCost, reserveTokens);
            reservation.watched(agent, intent, policy.team(), policy.alertAt(), limits);
            return new Admission.Admitted(reservation, newCap, remainingCost == Long.MAX_VALUE ? -1 : Math.max(0, remainingCost));
        } finally {
            lock.unlock();
            flushEvents();
        }
    }

    /** Events found under the lock are raised after it is released. */
    private final List<AlertEvent> pending = new ArrayList<>();

    private void raiseLater(AlertEvent event) {
        pending.add(event);
    }

    private void flushEvents() {
        List<AlertEvent> out;
        lock.lock();
        try {
            if (pending.isEmpty()) {
                return;
            }
            out = new ArrayList<>(pending);
            pending.clear();
        } finally {
            lock.unlock();
        }
        out.forEach(events);
    }

    private static AlertEvent event(long now, String kind, String agent, String intent, String team, String message,
            Admission.Refused about) {
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("reason", kind.equals("blocked") ? "limit_reached" : "breach_let_through");
        fields.put("code", about.code());
        fields.put("scope", about.scope());
        fields.put("limit", about.limit());
        fields.put("limit_value", about.limitValue());
        fields.put("spent", about.spent());
        fields.put("resets_at", about.resetsAtMs() < 0 ? null : Instant.ofEpochMilli(about.resetsAtMs()).toString());
        return new AlertEvent(now, kind, agent, intent, team, message, fields);
    }

    private Admission.Refused checkIntent(String agent, String intent, AgentPlans.Plan plan, IntentCounter counter,
            long promptTokens, ModelPrice price, boolean producesOutput) {
        AgentPolicy policy = plan.policy();
        long requests = counter == null ? 0 : counter.requests;
        long spent = counter == null ? 0 : counter.costNanos;
        long reserved = counter == null ? 0 : counter.reservedCost;
        if (policy.maxRequestsPerIntent() != null && requests + 1 > policy.maxRequestsPerIntent()) {
            String scope = intentScope(agent, intent);
            return new Admission.Refused("intent_budget_exceeded", scope, "max_requests_per_intent",
                    policy.maxRequestsPerIntent().toString(), Long.toString(requests), -1,
                    "tollgate: " + scope + " is over max_requests_per_intent (" + requests + " of "
                            + policy.maxRequestsPerIntent() + ")");
        }
        if (plan.intentCapNanos() >= 0) {
            long cap = plan.intentCapNanos();
            long left = cap - spent - reserved;
            boolean cannotPay = price != null && affordableOutput(price, promptTokens, left) < (producesOutput ? 1 : 0);
            if (left <= 0 || cannotPay) {
                String scope = intentScope(agent, intent);
                return new Admission.Refused("intent_budget_exceeded", scope, "max_cost_per_intent_usd",
                        dollars(cap), dollars(spent), -1, "tollgate: " + scope + " is over max_cost_per_intent_usd (spent $"
                                + dollars(spent) + " of $" + dollars(cap) + ")");
            }
        }
        return null;
    }

    private static String intentScope(String agent, String intent) {
        return "intent '" + intent + "' of agent '" + agent + "'";
    }

    private static boolean ownLimit(Admission.Refused breach) {
        return breach.scope().startsWith("agent '") || breach.scope().startsWith("intent '");
    }

    /** Output tokens {@code left} nano-dollars pay for after the prompt; negative when not even the prompt. */
    private static long affordableOutput(ModelPrice price, long promptTokens, long left) {
        long afterPrompt = left - price.cost(new Usage(promptTokens, 0, 0, 0)).value();
        return afterPrompt < 0 ? -1 : price.outputTokensFor(afterPrompt);
    }

    /** Replaces a call's reservation with what it actually cost, in the windows it started in. */
    public void settle(Reservation reservation, long costNanos, long tokens) {
        if (reservation == Reservation.NONE) {
            return;
        }
        lock.lock();
        try {
            if (reservation.settled) {
                return;
            }
            reservation.settled = true;
            for (int i = 0; i < reservation.counters.size(); i++) {
                WindowCounter c = reservation.counters.get(i);
                if (c.startMs == reservation.windowStarts[i]) {
                    c.reservedCost -= reservation.cost;
                    c.reservedTokens -= reservation.tokens;
                    c.costNanos += costNanos;
                    c.tokens += tokens;
                }
            }
            if (reservation.intent != null) {
                reservation.intent.reservedCost -= reservation.cost;
                reservation.intent.costNanos += costNanos;
            }
            checkThresholds(reservation);
            long now = clock.millis();
            for (String[] w : watch.onSettled(reservation.agent, reservation.intentName, costNanos, now, reservation.limits, reported)) {
                Map<String, String> fields = new LinkedHashMap<>();
                fields.put("reason", w[0]);
                fields.put("limit", w[2]);
                fields.put("limit_value", w[3]);
                fields.put("spent", w[4]);
                fields.put("projected_at", w[5]);
                raiseLater(new AlertEvent(now, w[0].equals("anomaly") ? "anomaly" : "alert", reservation.agent,
                        reservation.intentName, reservation.team, w[1], fields));
            }
        } finally {
            lock.unlock();
            flushEvents();
        }
    }

    /** Raises one alert per limit and window when its use first crosses the agent's {@code alert_at}. */
    private void checkThresholds(Reservation reservation) {
        if (reservation.alertAt == null) {
            return;
        }
        long now = clock.millis();
        for (ScopedLimit s : reservation.limits) {
            long used = s.used();
            if (used >= s.alertUnits() && reported.add("threshold|" + s.scope() + "|" + s.limit().key() + "|" + s.counter().startMs)) {
                boolean cost = s.limit().kind() == Limit.Kind.COST;
                String value = cost ? dollars(s.limit().units()) : Long.toString(s.limit().units());
                String spent = cost ? dollars(used) : Long.toString(used);
                String percent = reservation.alertAt.movePointRight(2).stripTrailingZeros().toPlainString();
                Map<String, String> fields = new LinkedHashMap<>();
                fields.put("reason", "threshold");
                fields.put("scope", s.scope());
                fields.put("limit", s.limit().key());
                fields.put("limit_value", value);
                fields.put("spent", spent);
                fields.put("alert_at", reservation.alertAt.toPlainString());
                fields.put("resets_at", Instant.ofEpochMilli(s.counter().endMs).toString());
                raiseLater(new AlertEvent(now, "alert", reservation.agent, reservation.intentName, reservation.team,
                        s.scope() + " has used " + percent + "% of " + s.limit().key() + " (" + (cost ? "$" : "") + spent
                                + " of " + (cost ? "$" : "") + value + "); resets " + Instant.ofEpochMilli(s.counter().endMs),
                        fields));
            }
        }
    }

    /** The limits of the agent, its team (when it has one) and the fleet, each with its current counter. */
    private List<ScopedLimit> scopedLimits(AgentPlans.Plan plan, ScopeCounters agent, ScopeCounters team, long now,
            ZoneId zone) {
        List<ScopedLimit> out = new ArrayList<>(plan.own().size() + plan.team().size() + plan.global().size());
        collect(out, agent, plan.own(), now, zone);
        if (team != null) {
            collect(out, team, plan.team(), now, zone);
        }
        collect(out, globalScope, plan.global(), now, zone);
        return out;
    }

    private static void collect(List<ScopedLimit> out, ScopeCounters scope, List<AgentPlans.PlannedLimit> limits, long now,
            ZoneId zone) {
        for (AgentPlans.PlannedLimit planned : limits) {
            Limit limit = planned.limit();
            out.add(new ScopedLimit(scope.label, limit, scope.in(limit.window(), now, zone), planned.alertUnits()));
        }
    }

    private ScopeCounters agentScope(String agent) {
        return agentScopes.computeIfAbsent(agent, ScopeCounters::ofAgent);
    }

    private ScopeCounters teamScope(String team) {
        return teamScopes.computeIfAbsent(team, ScopeCounters::ofTeam);
    }

    private static Admission.Refused refusal(String code, ScopedLimit s, long used, WindowCounter c) {
        boolean cost = s.limit().kind() == Limit.Kind.COST;
        String value = cost ? dollars(s.limit().units()) : s.limit().value().toPlainString();
        String spent = cost ? dollars(used) : Long.toString(used);
        String resets = Instant.ofEpochMilli(c.endMs).toString();
        long held = s.limit().kind() == Limit.Kind.COST ? c.reservedCost : s.limit().kind() == Limit.Kind.TOKENS ? c.reservedTokens : 0;
        boolean heldInFlight = held > 0 && used < s.limit().units();
        boolean reached = used >= s.limit().units();
        String why = reached ? " is over " : heldInFlight ? " has no room left in " : " cannot pay for this call within ";
        String message = "tollgate: " + s.scope() + why + s.limit().key() + " ("
                + (cost ? "spent $" + spent + " of $" + value : spent + " of " + value)
                + (heldInFlight ? (cost ? ", $" + dollars(held) : ", " + held) + " held by calls in flight" : "")
                + (!reached && !heldInFlight ? "; what is left cannot pay for its prompt" : "")
                + "); resets " + resets;
        return new Admission.Refused(code, s.scope(), s.limit().key(), value, spent, c.endMs, message, heldInFlight);
    }

    static String dollars(long nanos) {
        return dev.tollgate.pricing.UsdNanos.plainDollars(nanos);
    }

    /** What the admin API shows of one agent: its use per window, each limit and what remains. */
    public record AgentView(String agent, String team, boolean paused, String pauseReason,
            Map<Window, long[]> usePerWindow, List<LimitView> limits) {
    }

    /** A limit, how much of it is used, and what remains (nano-dollars for cost limits). */
    public record LimitView(String scope, String key, long value, long used, long remaining, long resetsAtMs) {
    }

    /** Every agent the proxy knows: configured, seen since start-up, or paused. */
    public java.util.SortedSet<String> knownAgents() {
        java.util.TreeSet<String> agents = new java.util.TreeSet<>(config.agents().keySet());
        lock.lock();
        try {
            agents.addAll(agentScopes.keySet());
            agents.addAll(paused.keySet());
        } finally {
            lock.unlock();
        }
        return agents;
    }

    /** A consistent view of one agent now: {cost nanos, requests, tokens} per window and its limits. */
    public AgentView view(String agent) {
        AgentPlans currentPlans = plans;
        TollgateConfig cfg = currentPlans.config();
        AgentPlans.Plan plan = currentPlans.of(agent);
        AgentPolicy policy = plan.policy();
        long now = clock.millis();
        ZoneId zone = cfg.timeZone();
        lock.lock();
        try {
            Map<Window, long[]> use = new EnumMap<>(Window.class);
            ScopeCounters agentScope = agentScope(agent);
            List<WindowCounter> windows = new ArrayList<>();
            agentScope.allInto(windows, now, zone);
            for (WindowCounter c : windows) {
                use.put(c.window, new long[] {c.costNanos, c.requests, c.tokens});
            }
            List<ScopedLimit> limits = scopedLimits(plan, agentScope, policy.team() == null ? null : teamScope(policy.team()),
                    now, zone);
            List<LimitView> views = new ArrayList<>();
            for (ScopedLimit s : limits) {
                long value = s.limit().units();
                views.add(new LimitView(s.scope(), s.limit().key(), value, s.used(), Math.max(0, value - s.used()), s.counter().endMs));
            }
            return new AgentView(agent, policy.team(), paused.containsKey(agent), paused.get(agent), use, views);
        } finally {
            lock.unlock();
        }
    }
}
