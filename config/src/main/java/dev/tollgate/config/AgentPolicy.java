package dev.tollgate.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.math.BigDecimal;

/**
 * An agent's entry under {@code agents:} (or the {@code defaults:} every agent inherits): its team, its
 * key, its calendar-window limits, its per-intent limits, the alert threshold and what a breach does.
 * Every key is optional; {@link #orElse} fills the missing ones from the defaults, key by key.
 *
 * @param apiKey a bearer token that identifies this agent whatever its headers say
 * @param alertAt the fraction of any limit at which an alert is raised, in (0, 1]
 */
public record AgentPolicy(        @JsonProperty("team") String team,
        @JsonProperty("api_key") String apiKey,
        @JsonProperty("max_cost_per_intent_usd") BigDecimal maxCostPerIntentUsd,
        @JsonProperty("max_requests_per_intent") Long maxRequestsPerIntent,
        @JsonProperty("alert_at") BigDecimal alertAt,
        @JsonProperty("action_on_breach") BreachAction actionOnBreach,
        @JsonProperty("max_cost_per_minute_usd") BigDecimal maxCostPerMinuteUsd,
        @JsonProperty("max_cost_per_hour_usd") BigDecimal maxCostPerHourUsd,
        @JsonProperty("max_cost_per_day_usd") BigDecimal maxCostPerDayUsd,
        @JsonProperty("max_cost_per_week_usd") BigDecimal maxCostPerWeekUsd,
        @JsonProperty("max_cost_per_month_usd") BigDecimal maxCostPerMonthUsd,
        @JsonProperty("max_requests_per_minute") Long maxRequestsPerMinute,
        @JsonProperty("max_requests_per_hour") Long maxRequestsPerHour,
        @JsonProperty("max_requests_per_day") Long maxRequestsPerDay,
        @JsonProperty("max_requests_per_week") Long maxRequestsPerWeek,
        @JsonProperty("max_requests_per_month") Long maxRequestsPerMonth,
        @JsonProperty("max_tokens_per_minute") Long maxTokensPerMinute,
        @JsonProperty("max_tokens_per_hour") Long maxTokensPerHour,
        @JsonProperty("max_tokens_per_day") Long maxTokensPerDay,
        @JsonProperty("max_tokens_per_week") Long maxTokensPerWeek,
        @JsonProperty("max_tokens_per_month") Long maxTokensPerMonth,
        @JsonProperty("max_intents_per_hour") Long maxIntentsPerHour,
        @JsonProperty("max_intents_per_day") Long maxIntentsPerDay,
        @JsonProperty("max_intents_per_week") Long maxIntentsPerWeek,
        @JsonProperty("max_intents_per_month") Long maxIntentsPerMonth) {

    public static final AgentPolicy NONE = new AgentPolicy(null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null);

    public AgentPolicy {
        Limits.requirePositive("max_cost_per_minute_usd", maxCostPerMinuteUsd);
        Limits.requirePositive("max_cost_per_hour_usd", maxCostPerHourUsd);
        Limits.requirePositive("max_cost_per_day_usd", maxCostPerDayUsd);
        Limits.requirePositive("max_cost_per_week_usd", maxCostPerWeekUsd);
        Limits.requirePositive("max_cost_per_month_usd", maxCostPerMonthUsd);
        Limits.requirePositive("max_requests_per_minute", maxRequestsPerMinute);
        Limits.requirePositive("max_requests_per_hour", maxRequestsPerHour);
        Limits.requirePositive("max_requests_per_day", maxRequestsPerDay);
        Limits.requirePositive("max_requests_per_week", maxRequestsPerWeek);
        Limits.requirePositive("max_requests_per_month", maxRequestsPerMonth);
        Limits.requirePositive("max_tokens_per_minute", maxTokensPerMinute);
        Limits.requirePositive("max_tokens_per_hour", maxTokensPerHour);
        Limits.requirePositive("max_tokens_per_day", maxTokensPerDay);
        Limits.requirePositive("max_tokens_per_week", maxTokensPerWeek);
        Limits.requirePositive("max_tokens_per_month", maxTokensPerMonth);
        Limits.requirePositive("max_intents_per_hour", maxIntentsPerHour);
        Limits.requirePositive("max_intents_per_day", maxIntentsPerDay);
        Limits.requirePositive("max_intents_per_week", maxIntentsPerWeek);
        Limits.requirePositive("max_intents_per_month", maxIntentsPerMonth);
        Limits.requirePositive("max_cost_per_intent_usd", maxCostPerIntentUsd);
        Limits.requirePositive("max_requests_per_intent", maxRequestsPerIntent);
        if (alertAt != null && (alertAt.signum() <= 0 || alertAt.compareTo(BigDecimal.ONE) > 0)) {
            throw new InvalidValueException("alert_at", "must be a fraction in (0, 1], such as 0.8");
        }
        if (apiKey != null && apiKey.isBlank()) {
            throw new InvalidValueException("api_key", "must not be empty");
        }
    }

    /** This policy with each missing key taken from {@code defaults}; team and key are never inherited. */
    public AgentPolicy orElse(AgentPolicy defaults) {
        return new AgentPolicy(team, apiKey, maxCostPerIntentUsd != null ? maxCostPerIntentUsd : defaults.maxCostPerIntentUsd, maxRequestsPerIntent != null ? maxRequestsPerIntent : defaults.maxRequestsPerIntent, alertAt != null ? alertAt : defaults.alertAt, actionOnBreach != null ? actionOnBreach : defaults.actionOnBreach, maxCostPerMinuteUsd != null ? maxCostPerMinuteUsd : defaults.maxCostPerMinuteUsd, maxCostPerHourUsd != null ? maxCostPerHourUsd : defaults.maxCostPerHourUsd, maxCostPerDayUsd != null ? maxCostPerDayUsd : defaults.maxCostPerDayUsd, maxCostPerWeekUsd != null ? maxCostPerWeekUsd : defaults.maxCostPerWeekUsd, maxCostPerMonthUsd != null ? maxCostPerMonthUsd : defaults.maxCostPerMonthUsd, maxRequestsPerMinute != null ? maxRequestsPerMinute : defaults.maxRequestsPerMinute, maxRequestsPerHour != null ? maxRequestsPerHour : defaults.maxRequestsPerHour, maxRequestsPerDay != null ? maxRequestsPerDay : defaults.maxRequestsPerDay, maxRequestsPerWeek != null ? maxRequestsPerWeek : defaults.maxRequestsPerWeek, maxRequestsPerMonth != null ? maxRequestsPerMonth : defaults.maxRequestsPerMonth, maxTokensPerMinute != null ? maxTokensPerMinute : defaults.maxTokensPerMinute, maxTokensPerHour != null ? maxTokensPerHour : defaults.maxTokensPerHour, maxTokensPerDay != null ? maxTokensPerDay : defaults.maxTokensPerDay, maxTokensPerWeek != null ? maxTokensPerWeek : defaults.maxTokensPerWeek, maxTokensPerMonth != null ? maxTokensPerMonth : defaults.maxTokensPerMonth, maxIntentsPerHour != null ? maxIntentsPerHour : defaults.maxIntentsPerHour, maxIntentsPerDay != null ? maxIntentsPerDay : defaults.maxIntentsPerDay, maxIntentsPerWeek != null ? maxIntentsPerWeek : defaults.maxIntentsPerWeek, maxIntentsPerMonth != null ? maxIntentsPerMonth : defaults.maxIntentsPerMonth);
    }

    /** The calendar-window limits of this policy. */
    public WindowLimits windowLimits() {
        return new WindowLimits(maxCostPerMinuteUsd, maxCostPerHourUsd, maxCostPerDayUsd, maxCostPerWeekUsd, maxCostPerMonthUsd, maxRequestsPerMinute, maxRequestsPerHour, maxRequestsPerDay, maxRequestsPerWeek, maxRequestsPerMonth, maxTokensPerMinute, maxTokensPerHour, maxTokensPerDay, maxTokensPerWeek, maxTokensPerMonth, maxIntentsPerHour, maxIntentsPerDay, maxIntentsPerWeek, maxIntentsPerMonth);
    }

    /** What happens when a limit is reached: refuse (default) or let through with an alert. */
    public BreachAction breachAction() {
        return actionOnBreach == null ? BreachAction.BLOCK : actionOnBreach;
    }
}
