package dev.tollgate.pricing;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Model prices: the bundled OpenAI table plus the user's additions and overrides ({@code pricing.file}).
 *
 * <p>A name resolves in this order: the exact name; the name without a provider prefix
 * ({@code openai/gpt-4o}); then either without its date suffix ({@code gpt-4o-2024-11-20},
 * {@code gpt-3.5-turbo-0125}). An exact entry therefore wins over the family's:
 * {@code gpt-4o-2024-05-13} has its own, higher price. Resolutions are cached, since the same few names
 * come back on every call.
 */
public final class PriceTable {

    private static final String BUNDLED = "openai-prices.yaml";
    private static final Pattern DATE_SUFFIX = Pattern.compile("-(\\d{4}-\\d{2}-\\d{2}|\\d{4})$");
    private static final ObjectMapper YAML = YAMLMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .build();

    private final Map<String, ModelPrice> prices;
    private final Set<String> fromFile;
    private final Path file;
    private final Map<String, Optional<PricedModel>> resolved = new ConcurrentHashMap<>();

    private PriceTable(Map<String, ModelPrice> prices, Set<String> fromFile, Path file) {
        this.prices = Collections.unmodifiableMap(new TreeMap<>(prices));
        this.fromFile = Set.copyOf(fromFile);
        this.file = file;
    }

    /** The table shipped with Tollgate. */
    public static PriceTable bundled() {
        try (InputStream in = PriceTable.class.getResourceAsStream(BUNDLED)) {
            if (in == null) {
                throw new IllegalStateException("the bundled price table " + BUNDLED + " is missing from the jar");
            }
            return new PriceTable(read(YAML.readValue(in, PriceFile.class), "bundled table"), Set.of(), null);
        } catch (IOException e) {
            throw new UncheckedIOException("the bundled price table is unreadable", e);
        }
    }

    /** This table with the models of {@code priceFile} added or replacing bundled entries. */
    public PriceTable withOverrides(Path priceFile) throws PriceFileException {
        Map<String, ModelPrice> overrides;
        try (InputStream in = Files.newInputStream(priceFile)) {
            overrides = read(YAML.readValue(in, PriceFile.class), priceFile.toString());
        } catch (NoSuchFileException e) {
            throw new PriceFileException(priceFile + ": no such file");
        } catch (JsonMappingException e) {
            throw new PriceFileException(priceFile + ": " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")"));
        } catch (IOException | IllegalArgumentException e) {
            throw new PriceFileException(priceFile + ": " + e.getMessage());
        }
        Map<String, ModelPrice> merged = new LinkedHashMap<>(prices);
        merged.putAll(overrides);
        return new PriceTable(merged, overrides.keySet(), priceFile);
    }

    /** How {@code model} is priced, or empty when no entry matches. */
    public Optional<PricedModel> resolve(String model) {
        if (model == null || model.isEmpty()) {
            return Optional.empty();
        }
        return resolved.computeIfAbsent(model, this::lookup);
    }

    private Optional<PricedModel> lookup(String model) {
        String name = model;
        Optional<PricedModel> hit = exact(model, name);
        if (hit.isEmpty() && name.indexOf('/') >= 0) {
            name = name.substring(name.lastIndexOf('/') + 1);
            hit = exact(model, name);
        }
        if (hit.isEmpty()) {
            String undated = DATE_SUFFIX.matcher(name).replaceFirst("");
            if (!undated.equals(name)) {
                hit = exact(model, undated);
            }
        }
        return hit;
    }

    private Optional<PricedModel> exact(String requested, String key) {
        ModelPrice price = prices.get(key);
        return price == null ? Optional.empty()
                : Optional.of(new PricedModel(requested, key, price, fromFile.contains(key)));
    }

    /** Every entry, sorted by name. */
    public Map<String, ModelPrice> entries() {
        return prices;
    }

    /** The price file in use, if any: named in errors so users know where to add a model. */
    public Optional<Path> priceFile() {
        return Optional.ofNullable(file);
    }

    private static Map<String, ModelPrice> read(PriceFile parsed, String source) {
        if (parsed == null || parsed.models == null) {
            throw new IllegalArgumentException("a price file needs a top-level 'models:' mapping");
        }
        Map<String, ModelPrice> out = new LinkedHashMap<>();
        parsed.models.forEach((name, entry) -> {
            if (entry == null || entry.input == null || entry.output == null) {
                throw new IllegalArgumentException("models." + name + ": needs input and output prices (USD per million tokens)");
            }
            try {
                out.put(name, new ModelPrice(entry.input, entry.cachedInput, entry.output));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("models." + name + ": " + e.getMessage());
            }
        });
        return out;
    }

    /** The YAML shape of a price file. */
    static final class PriceFile {
        @JsonProperty("models")
        Map<String, Entry> models;
    }

    static final class Entry {
        @JsonProperty("input")
        BigDecimal input;
        @JsonProperty("cached_input")
        BigDecimal cachedInput;
        @JsonProperty("output")
        BigDecimal output;
    }
}
