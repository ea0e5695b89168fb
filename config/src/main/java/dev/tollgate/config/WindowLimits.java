package dev.tollgate.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;

/**
 * The calendar-window limits of a scope: an agent, a team, or everyone ({@code global}). Every key is
 * optional; an agent's missing keys come from {@code defaults}, key by key ({@link #orElse}).
 * Generated field by field from one pattern: {@code max_cost_per_{minute..month}_usd},
 * {@code max_requests_per_*}, {@code max_tokens_per_*}, {@code max_intents_per_{hour..month}}.
 */
public record WindowLimits(        @JsonProperty("max_cost_per_minute_usd") BigDecimal maxCostPerMinuteUsd,
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

    public static final WindowLimits NONE = new WindowLimits(null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null);

    public WindowLimits {
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
    }

    /** This scope's limits, with each missing key taken from {@code fallback}. */
    public WindowLimits orElse(WindowLimits fallback) {
        return new WindowLimits(maxCostPerMinuteUsd != null ? maxCostPerMinuteUsd : fallback.maxCostPerMinuteUsd, maxCostPerHourUsd != null ? maxCostPerHourUsd : fallback.maxCostPerHourUsd, maxCostPerDayUsd != null ? maxCostPerDayUsd : fallback.maxCostPerDayUsd, maxCostPerWeekUsd != null ? maxCostPerWeekUsd : fallback.maxCostPerWeekUsd, maxCostPerMonthUsd != null ? maxCostPerMonthUsd : fallback.maxCostPerMonthUsd, maxRequestsPerMinute != null ? maxRequestsPerMinute : fallback.maxRequestsPerMinute, maxRequestsPerHour != null ? maxRequestsPerHour : fallback.maxRequestsPerHour, maxRequestsPerDay != null ? maxRequestsPerDay : fallback.maxRequestsPerDay, maxRequestsPerWeek != null ? maxRequestsPerWeek : fallback.maxRequestsPerWeek, maxRequestsPerMonth != null ? maxRequestsPerMonth : fallback.maxRequestsPerMonth, maxTokensPerMinute != null ? maxTokensPerMinute : fallback.maxTokensPerMinute, maxTokensPerHour != null ? maxTokensPerHour : fallback.maxTokensPerHour, maxTokensPerDay != null ? maxTokensPerDay : fallback.maxTokensPerDay, maxTokensPerWeek != null ? maxTokensPerWeek : fallback.maxTokensPerWeek, maxTokensPerMonth != null ? maxTokensPerMonth : fallback.maxTokensPerMonth, maxIntentsPerHour != null ? maxIntentsPerHour : fallback.maxIntentsPerHour, maxIntentsPerDay != null ? maxIntentsPerDay : fallback.maxIntentsPerDay, maxIntentsPerWeek != null ? maxIntentsPerWeek : fallback.maxIntentsPerWeek, maxIntentsPerMonth != null ? maxIntentsPerMonth : fallback.maxIntentsPerMonth);
    }

    /** Every limit that is set, as (key, kind, window, value). */
    public List<Limit> all() {
        List<Limit> out = new ArrayList<>();
        Limit.add(out, "max_cost_per_minute_usd", Limit.Kind.COST, Window.MINUTE, maxCostPerMinuteUsd);
        Limit.add(out, "max_cost_per_hour_usd", Limit.Kind.COST, Window.HOUR, maxCostPerHourUsd);
        Limit.add(out, "max_cost_per_day_usd", Limit.Kind.COST, Window.DAY, maxCostPerDayUsd);
        Limit.add(out, "max_cost_per_week_usd", Limit.Kind.COST, Window.WEEK, maxCostPerWeekUsd);
        Limit.add(out, "max_cost_per_month_usd", Limit.Kind.COST, Window.MONTH, maxCostPerMonthUsd);
        Limit.add(out, "max_requests_per_minute", Limit.Kind.REQUESTS, Window.MINUTE, maxRequestsPerMinute);
        Limit.add(out, "max_requests_per_hour", Limit.Kind.REQUESTS, Window.HOUR, maxRequestsPerHour);
        Limit.add(out, "max_requests_per_day", Limit.Kind.REQUESTS, Window.DAY, maxRequestsPerDay);
        Limit.add(out, "max_requests_per_week", Limit.Kind.REQUESTS, Window.WEEK, maxRequestsPerWeek);
        Limit.add(out, "max_requests_per_month", Limit.Kind.REQUESTS, Window.MONTH, maxRequestsPerMonth);
        Limit.add(out, "max_tokens_per_minute", Limit.Kind.TOKENS, Window.MINUTE, maxTokensPerMinute);
        Limit.add(out, "max_tokens_per_hour", Limit.Kind.TOKENS, Window.HOUR, maxTokensPerHour);
        Limit.add(out, "max_tokens_per_day", Limit.Kind.TOKENS, Window.DAY, maxTokensPerDay);
        Limit.add(out, "max_tokens_per_week", Limit.Kind.TOKENS, Window.WEEK, maxTokensPerWeek);
        Limit.add(out, "max_tokens_per_month", Limit.Kind.TOKENS, Window.MONTH, maxTokensPerMonth);
        Limit.add(out, "max_intents_per_hour", Limit.Kind.INTENTS, Window.HOUR, maxIntentsPerHour);
        Limit.add(out, "max_intents_per_day", Limit.Kind.INTENTS, Window.DAY, maxIntentsPerDay);
        Limit.add(out, "max_intents_per_week", Limit.Kind.INTENTS, Window.WEEK, maxIntentsPerWeek);
        Limit.add(out, "max_intents_per_month", Limit.Kind.INTENTS, Window.MONTH, maxIntentsPerMonth);
        return out;
    }
}
