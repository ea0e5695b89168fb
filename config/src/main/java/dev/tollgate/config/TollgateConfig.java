package dev.tollgate.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * The whole of a Tollgate config file (SPEC §5), immutable once loaded. {@code time_zone} is the zone
 * calendar windows and report days are cut in (UTC by default). Sections left out of the file
 * take their defaults, so an empty file is a valid config that forwards to OpenAI.
 */
public record TollgateConfig(
        @JsonProperty("listen") ListenAddress listen,
        @JsonProperty("upstream") UpstreamConfig upstream,
        @JsonProperty("storage") StorageConfig storage,
        @JsonProperty("time_zone") ZoneId timeZone,
        @JsonProperty("identity") IdentityConfig identity,
        @JsonProperty("pricing") PricingConfig pricing,
        @JsonProperty("limits") LimitsConfig limits) {

    public static final ListenAddress DEFAULT_LISTEN = new ListenAddress("127.0.0.1", 8080);

    /** The config in force when there is no file at all. */
    public static final TollgateConfig DEFAULTS = new TollgateConfig(null, null, null, null, null, null, null);

    public TollgateConfig {
        listen = listen == null ? DEFAULT_LISTEN : listen;
        upstream = upstream == null ? UpstreamConfig.DEFAULTS : upstream;
        storage = storage == null ? StorageConfig.DEFAULTS : storage;
        timeZone = timeZone == null ? ZoneOffset.UTC : timeZone;
        identity = identity == null ? IdentityConfig.DEFAULTS : identity;
        pricing = pricing == null ? PricingConfig.DEFAULTS : pricing;
        limits = limits == null ? LimitsConfig.DEFAULTS : limits;
    }

    @JsonCreator
    static TollgateConfig fromYaml(
            @JsonProperty("listen") String listen,
            @JsonProperty("upstream") UpstreamConfig upstream,
            @JsonProperty("storage") StorageConfig storage,
            @JsonProperty("time_zone") String timeZone,
            @JsonProperty("identity") IdentityConfig identity,
            @JsonProperty("pricing") PricingConfig pricing,
            @JsonProperty("limits") LimitsConfig limits) {
        ZoneId zone;
        try {
            zone = timeZone == null ? null : ZoneId.of(timeZone);
        } catch (java.time.DateTimeException e) {
            throw new InvalidValueException("time_zone", "'" + timeZone + "' is not a time zone; use an IANA name"
                    + " such as UTC, Europe/Berlin or America/New_York");
        }
        ListenAddress address;
        try {
            address = listen == null ? null : ListenAddress.parse(listen);
        } catch (IllegalArgumentException e) {
            throw new InvalidValueException("listen", e.getMessage());
        }
        return new TollgateConfig(address, upstream, storage, zone, identity, pricing, limits);
    }

    public TollgateConfig withListen(ListenAddress newListen) {
        return new TollgateConfig(newListen, upstream, storage, timeZone, identity, pricing, limits);
    }

    public TollgateConfig withUpstream(UpstreamConfig newUpstream) {
        return new TollgateConfig(listen, newUpstream, storage, timeZone, identity, pricing, limits);
    }

    public TollgateConfig withStorage(StorageConfig newStorage) {
        return new TollgateConfig(listen, upstream, newStorage, timeZone, identity, pricing, limits);
    }

    public TollgateConfig withPricing(PricingConfig newPricing) {
        return new TollgateConfig(listen, upstream, storage, timeZone, identity, newPricing, limits);
    }

    public TollgateConfig withLimits(LimitsConfig newLimits) {
        return new TollgateConfig(listen, upstream, storage, timeZone, identity, pricing, newLimits);
    }
}
