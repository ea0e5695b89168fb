package dev.tollgate.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.DictionaryFile;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzes the config loader with arbitrary files: {@link ConfigLoader#load} on the bytes written to a
 * file, and {@link ConfigLoader#parse} on their text. Seeds and kept findings:
 * {@code src/test/resources/dev/tollgate/config/ConfigLoaderFuzzTestInputs/load}.
 *
 * <p>What must hold for any file: loading either gives a config or throws {@link ConfigException} with
 * at least one problem, never anything else (a bad file at startup or on reload is reported, never a
 * stack trace); loading the file and parsing its text agree; and a config that loads is one the proxy
 * can use: every limit positive and convertible to its units, every field present.
 */
class ConfigLoaderFuzzTest {

    private static final Map<String, String> ENVIRONMENT = Map.of(
            "OPENAI_API_KEY", "sk-from-env", "RESEARCH_AGENT_KEY", "tg-research-key",
            "TOLLGATE_ADMIN_TOKEN", "0123456789abcdef0123", "PORT", "9090");
    private static final ConfigLoader LOADER = new ConfigLoader(ENVIRONMENT::get);
    private static Path dir;
    private static Path file;

    @BeforeAll
    static void createFolder() throws IOException {
        dir = Files.createTempDirectory("tollgate-config-fuzz");
        file = dir.resolve("tollgate.yaml");
    }

    @AfterAll
    static void deleteFolder() throws IOException {
        Files.deleteIfExists(file);
        Files.deleteIfExists(dir);
    }

    // Keys and YAML syntax, so that mutations make configs and not only noise. (A file: Jazzer 0.24 writes inline entries with raw line breaks, which libFuzzer rejects.)
    @DictionaryFile(resourcePath = "ConfigLoaderFuzzTest.dict")
    @FuzzTest(maxDuration = "60s")
    void load(byte[] yaml) {
        try {
            Files.write(file, yaml);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Outcome loaded = outcome(() -> LOADER.load(file));
        String text = utf8(yaml);
        if (text == null) {
            // Not UTF-8: the file cannot be read as a config, which is a problem reported like any other.
            assertNotNull(loaded.problems, "a file that is not UTF-8 loaded");
            return;
        }
        Outcome parsed = outcome(() -> LOADER.parse(text));
        assertEquals(loaded.problems, parsed.problems, "loading the file and parsing its text disagree");
        if (loaded.config != null) {
            check(loaded.config);
            assertEquals(parsed.config.withPricing(loaded.config.pricing()), loaded.config,
                    "loading the file and parsing its text give different configs");
            assertEquals(parsed.config, outcome(() -> LOADER.parse(text)).config, "parsing the same text twice differs");
        }
    }

    private record Outcome(TollgateConfig config, List<String> problems) {
    }

    private interface Load {
        TollgateConfig run() throws ConfigException;
    }

    /** The config, or the problems of the {@link ConfigException}: any other exception fails the test. */
    private static Outcome outcome(Load load) {
        try {
            TollgateConfig config = load.run();
            assertNotNull(config, "a config loaded as null");
            return new Outcome(config, null);
        } catch (ConfigException e) {
            assertFalse(e.problems().isEmpty(), "a ConfigException without problems");
            for (String problem : e.problems()) {
                assertTrue(problem != null && !problem.isBlank(), () -> "a blank problem in " + e.problems());
            }
            return new Outcome(null, e.problems());
        }
    }

    /** What the proxy relies on in a config that loaded. */
    private static void check(TollgateConfig config) {
        assertNotNull(config.listen());
        assertNotNull(config.upstream().baseUrl().getHost());
        assertTrue(config.upstream().port() > 0 && config.upstream().port() <= 65_535, "upstream port");
        assertNotNull(config.storage().path());
        assertNotNull(config.timeZone());
        assertNotNull(config.identity().agentHeader());
        assertTrue(config.limits().maxRequestBytes() > 0 && config.limits().defaultOutputTokens() > 0);
        checkLimits(config.global());
        config.teams().values().forEach(ConfigLoaderFuzzTest::checkLimits);
        checkLimits(config.defaults().windowLimits());
        for (String agent : config.agents().keySet()) {
            AgentPolicy policy = config.policyOf(agent);
            assertNotNull(policy);
            checkLimits(policy.windowLimits());
            if (policy.maxCostPerIntentUsd() != null) {
                assertTrue(policy.maxCostPerIntentUsd().movePointRight(9).longValueExact() > 0, "per-intent cost in nano-dollars");
            }
            if (policy.maxRequestsPerIntent() != null) {
                assertTrue(policy.maxRequestsPerIntent() > 0, "per-intent requests");
            }
            if (policy.alertAt() != null) {
                assertTrue(policy.alertAt().signum() > 0 && policy.alertAt().compareTo(java.math.BigDecimal.ONE) <= 0);
            }
        }
    }

    private static void checkLimits(WindowLimits limits) {
        for (Limit limit : limits.all()) {
            assertTrue(limit.units() > 0, () -> limit + " is not positive in units");
        }
    }

    private static String utf8(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
