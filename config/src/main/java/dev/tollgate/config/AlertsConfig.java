package dev.tollgate.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.net.URI;

/** Where alerts are posted ({@code alerts.webhook_url}, Slack-compatible JSON). */
public record AlertsConfig(@JsonProperty("webhook_url") URI webhookUrl) {

    public static final AlertsConfig NONE = new AlertsConfig(null);

    @JsonCreator
    public AlertsConfig {
        if (webhookUrl != null && !"https".equals(webhookUrl.getScheme()) && !"http".equals(webhookUrl.getScheme())) {
            throw new InvalidValueException("webhook_url", "must be an http:// or https:// URL, got '" + webhookUrl + "'");
        }
    }
}
