package dev.tollgate.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

    private final ConfigLoader loader = new ConfigLoader(Map.of("OPENAI_API_KEY", "sk-from-env", "PORT", "9090")::get);

    private static ConfigException problemsOf(ThrowingLoad load) {
        try {
            load.run();
        } catch (ConfigException e) {
            return e;
        }
        throw new AssertionError("expected a ConfigException");
    }

    interface ThrowingLoad {
        void run() throws ConfigException;
    }

    @Test
    void emptyFileIsTheDefaultConfig() throws Exception {
        TollgateConfig config = loader.parse("");

        assertThat(config).isEqualTo(TollgateConfig.DEFAULTS);
        assertThat(config.listen()).isEqualTo(new ListenAddress("127.0.0.1", 8080));
        assertThat(config.upstream().baseUrl()).isEqualTo(URI.create("https://api.openai.com/v1"));
        assertThat(config.upstream().connectTimeoutMs()).isEqualTo(5_000);
        assertThat(config.upstream().responseTimeoutMs()).isEqualTo(600_000);
        assertThat(config.upstream().http2()).as("HTTP/1.1 to the provider unless asked").isFalse();
        assertThat(config.limits().maxRequestBytes()).isEqualTo(33_554_432);
        assertThat(config.limits().agentIdleSeconds()).isEqualTo(300);
        assertThat(config.identity().agentHeader()).isEqualTo("X-Agent-Id");
        assertThat(config.storage().path()).isEqualTo(Path.of("tollgate.db"));
    }

    @Test
    void readsEveryKeyThisVersionSupports() throws Exception {
        TollgateConfig config = loader.parse("""
                listen: 0.0.0.0:${PORT}
                upstream:
                  base_url: http://llm.internal:8000/openai/v1/
                  api_key: ${OPENAI_API_KEY}
                  connect_timeout_ms: 250
                  response_timeout_ms: 30000
                  http2: true
                storage:
                  path: /var/lib/tollgate/ledger.db
                identity:
                  agent_header: X-Bot
                  intent_header: X-Task
                limits:
                  max_request_bytes: 1048576
                  agent_idle_seconds: 75
                """);

        assertThat(config.listen()).isEqualTo(new ListenAddress("0.0.0.0", 9090));
        assertThat(config.upstream().baseUrl()).isEqualTo(URI.create("http://llm.internal:8000/openai/v1"));
        assertThat(config.upstream().basePath()).isEqualTo("/openai/v1");
        assertThat(config.upstream().hostHeader()).isEqualTo("llm.internal:8000");
        assertThat(config.upstream().tls()).isFalse();
        assertThat(config.upstream().apiKey()).isEqualTo("sk-from-env");
        assertThat(config.upstream().connectTimeoutMs()).isEqualTo(250);
        assertThat(config.upstream().http2()).isTrue();
        assertThat(config.storage().path()).isEqualTo(Path.of("/var/lib/tollgate/ledger.db"));
        assertThat(config.identity().intentHeader()).isEqualTo("X-Task");
        assertThat(config.limits().maxRequestBytes()).isEqualTo(1_048_576);
        assertThat(config.limits().agentIdleSeconds()).isEqualTo(75);
    }

    @Test
    void jsonIsValidYaml() throws Exception {
        TollgateConfig config = loader.parse("{\"upstream\": {\"base_url\": \"https://example.com/v1\"}}");

        assertThat(config.upstream().port()).isEqualTo(443);
        assertThat(config.upstream().hostHeader()).isEqualTo("example.com");
    }

    @Test
    void everyUnknownKeyIsReportedWithItsPath() {
        ConfigException e = problemsOf(() -> loader.parse("""
                upstream:
                  bse_url: http://x/v1
                  timeout: 5
                limitz: {}
                """));

        assertThat(e.problems()).containsExactly("upstream.bse_url: unknown key", "upstream.timeout: unknown key",
                "limitz: unknown key");
    }

    @Test
    void alertLoopAndAdminSectionsAreReadAndChecked() throws Exception {
        TollgateConfig config = loader.parse("""
                alerts:
                  webhook_url: https://hooks.example.com/T000/B000
                loop_detection:
                  max_identical_requests: 5
                  window_seconds: 600
                  action: alert
                admin:
                  token: 0123456789abcdef0123
                """);

        assertThat(config.alerts().webhookUrl()).hasToString("https://hooks.example.com/T000/B000");
        assertThat(config.loopDetection().action()).isEqualTo(BreachAction.ALERT);
        assertThat(config.admin().token()).isEqualTo("0123456789abcdef0123");
        assertThat(problemsOf(() -> loader.parse("admin:\n  token: short\n")).problems()).singleElement()
                .asString().startsWith("admin.token: must be at least 16 characters");
        assertThat(problemsOf(() -> loader.parse("loop_detection:\n  window_seconds: 0\n")).problems())
                .containsExactly("loop_detection.window_seconds: must be > 0");
    }

    @Test
    void missingEnvironmentVariableIsAnErrorNamingKeyAndVariable() {
        ConfigException e = problemsOf(() -> loader.parse("upstream:\n  api_key: ${NOT_SET_ANYWHERE}\n"));

        assertThat(e.problems()).containsExactly("upstream.api_key: environment variable NOT_SET_ANYWHERE is not set");
    }

    @Test
    void outOfRangeValuesNameTheirKey() {
        assertThat(problemsOf(() -> loader.parse("upstream:\n  connect_timeout_ms: 0\n")).problems())
                .containsExactly("upstream.connect_timeout_ms: must be > 0");
        assertThat(problemsOf(() -> loader.parse("limits:\n  max_request_bytes: -1\n")).problems())
                .containsExactly("limits.max_request_bytes: must be > 0");
        assertThat(problemsOf(() -> loader.parse("limits:\n  agent_idle_seconds: 0\n")).problems())
                .containsExactly("limits.agent_idle_seconds: must be between 1 and 86400 (a day)");
        assertThat(problemsOf(() -> loader.parse("upstream:\n  base_url: ftp://x/v1\n")).problems()).singleElement()
                .asString().startsWith("upstream.base_url: must start with http:// or https://");
        // Found by fuzzing: java.net.URI accepts any number of port digits.
        assertThat(problemsOf(() -> loader.parse("upstream:\n  base_url: http://llm.intern:80000/v1\n")).problems()).singleElement()
                .asString().startsWith("upstream.base_url: has a port outside 1-65535");
        assertThat(problemsOf(() -> loader.parse("upstream:\n  base_url: http://llm.intern:0000/v1\n")).problems()).singleElement()
                .asString().startsWith("upstream.base_url: has a port outside 1-65535");
        assertThat(problemsOf(() -> loader.parse("listen: nowhere\n")).problems()).singleElement()
                .asString().startsWith("listen: expected HOST:PORT");
        assertThat(problemsOf(() -> loader.parse("identity:\n  agent_header: \"X Agent\"\n")).problems()).singleElement()
                .asString().startsWith("identity.agent_header: ");
    }

    @Test
    void wrongTypesNameTheirKey() {
        assertThat(problemsOf(() -> loader.parse("limits:\n  max_request_bytes: lots\n")).problems())
                .containsExactly("limits.max_request_bytes: must be a whole number");
        assertThat(problemsOf(() -> loader.parse("upstream: 5\n")).problems()).singleElement()
                .asString().startsWith("upstream: ");
    }

    @Test
    void brokenYamlSaysWhere() {
        assertThat(problemsOf(() -> loader.parse("upstream:\n  base_url: [\n")).problems()).singleElement()
                .asString().startsWith("not valid YAML").contains("line");
        assertThat(problemsOf(() -> loader.parse("- a\n- b\n")).problems()).singleElement()
                .asString().contains("mapping");
    }

    @Test
    void loadNamesAMissingFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tollgate.yaml");
        assertThat(problemsOf(() -> loader.load(file)).problems()).containsExactly(file + ": no such file");

        Files.writeString(file, "listen: 127.0.0.1:0\n");
        assertThat(loader.load(file).listen().port()).isZero();
    }

    @Test
    void pricingFileIsResolvedBesideTheConfigAndThePolicyIsChecked(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tollgate.yaml");
        Files.writeString(file, "pricing:\n  file: prices.yaml\n  unknown_model: allow\n");

        TollgateConfig config = loader.load(file);

        assertThat(config.pricing().file()).isEqualTo(dir.resolve("prices.yaml"));
        assertThat(config.pricing().unknownModel()).isEqualTo(UnknownModelPolicy.ALLOW);
        assertThat(loader.parse("").pricing().unknownModel()).isEqualTo(UnknownModelPolicy.BLOCK);
        assertThat(problemsOf(() -> loader.parse("pricing:\n  unknown_model: maybe\n")).problems())
                .containsExactly("pricing.unknown_model: must be block or allow, got 'maybe'");
    }

    @Test
    void timeZoneIsAnIanaZoneAndDefaultsToUtc() throws Exception {
        assertThat(loader.parse("").timeZone()).isEqualTo(java.time.ZoneId.of("UTC"));
        assertThat(loader.parse("time_zone: Europe/Berlin\n").timeZone()).isEqualTo(java.time.ZoneId.of("Europe/Berlin"));
        assertThat(problemsOf(() -> loader.parse("time_zone: Mars/Olympus\n")).problems()).singleElement()
                .asString().startsWith("time_zone: 'Mars/Olympus' is not a time zone");
    }

    @Test
    void budgetsOfTheSpecExampleLoadAndAgentsInheritDefaultsKeyByKey() throws Exception {
        TollgateConfig config = loader.parse("""
                time_zone: Europe/Berlin
                upstream:
                  api_key: sk-org
                identity:
                  require_agent: true
                defaults:
                  max_cost_per_day_usd: 10
                  max_requests_per_hour: 1000
                agents:
                  research-agent:
                    team: support
                    api_key: ${OPENAI_API_KEY}
                    max_cost_per_day_usd: 50.00
                    max_requests_per_hour: 100
                    max_intents_per_day: 500
                    max_cost_per_intent_usd: 2.00
                    max_requests_per_intent: 40
                    alert_at: 0.8
                    action_on_breach: block
                  triage-bot: {}
                teams:
                  support: { max_cost_per_month_usd: 1000 }
                global: { max_cost_per_month_usd: 5000 }
                """);

        AgentPolicy research = config.policyOf("research-agent");
        assertThat(research.team()).isEqualTo("support");
        assertThat(research.apiKey()).isEqualTo("sk-from-env");
        assertThat(research.maxCostPerDayUsd()).isEqualByComparingTo("50.00");
        assertThat(research.breachAction()).isEqualTo(BreachAction.BLOCK);
        assertThat(config.policyOf("triage-bot").maxCostPerDayUsd()).isEqualByComparingTo("10");
        assertThat(config.policyOf("someone-new").maxRequestsPerHour()).isEqualTo(1000);
        assertThat(config.identity().requireAgent()).isTrue();
        assertThat(config.teams().get("support").maxCostPerMonthUsd()).isEqualByComparingTo("1000");
        assertThat(config.global().all()).singleElement().satisfies(limit -> {
            assertThat(limit.key()).isEqualTo("max_cost_per_month_usd");
            assertThat(limit.window()).isEqualTo(Window.MONTH);
            assertThat(limit.units()).isEqualTo(5_000_000_000_000L);
        });
        assertThat(research.windowLimits().all()).extracting(Limit::key)
                .containsExactlyInAnyOrder("max_cost_per_day_usd", "max_requests_per_hour", "max_intents_per_day");
    }

    @Test
    void budgetProblemsNameTheirFullKeyPath() {
        assertThat(problemsOf(() -> loader.parse("agents:\n  research-agent:\n    max_cost_per_day_usd: 0\n")).problems())
                .containsExactly("agents.research-agent.max_cost_per_day_usd: must be > 0");
        assertThat(problemsOf(() -> loader.parse("agents:\n  a:\n    max_cost_per_dya_usd: 5\n    alert_at: 2\n"))
                .problems()).contains("agents.a.max_cost_per_dya_usd: unknown key");
        assertThat(problemsOf(() -> loader.parse("teams:\n  t:\n    api_key: x\n")).problems())
                .containsExactly("teams.t.api_key: unknown key");
        assertThat(problemsOf(() -> loader.parse("upstream: {api_key: sk}\nagents:\n  a: {api_key: k1}\n  b: {api_key: k1}\n"))
                .problems()).singleElement().asString().contains("agents.b.api_key: is the same as agents.a.api_key");
        assertThat(problemsOf(() -> loader.parse("agents:\n  a: {api_key: k1}\n")).problems()).singleElement()
                .asString().startsWith("upstream.api_key: is needed when agents have keys");
        assertThat(problemsOf(() -> loader.parse("defaults:\n  team: x\n")).problems()).singleElement()
                .asString().startsWith("defaults.team: ");
        assertThat(problemsOf(() -> loader.parse("agents:\n  a: {action_on_breach: shout}\n")).problems())
                .containsExactly("agents.a.action_on_breach: must be block or alert, got 'shout'");
        assertThat(problemsOf(() -> loader.parse("global:\n  max_cost_per_day_usd: 10000000000\n")).problems())
                .singleElement().asString().startsWith("global.max_cost_per_day_usd: must be at most 9000000000 dollars");
        assertThat(problemsOf(() -> loader.parse("global:\n  max_cost_per_day_usd: 0.0000000001\n")).problems())
                .singleElement().asString().startsWith("global.max_cost_per_day_usd: has more than nine decimals");
    }

    @Test
    void listenAddressParsesIpv6InBrackets() {
        assertThat(ListenAddress.parse("[::1]:8080")).isEqualTo(new ListenAddress("::1", 8080));
        assertThat(ListenAddress.parse("[::1]:8080").toString()).isEqualTo("[::1]:8080");
        assertThatThrownBy(() -> ListenAddress.parse("::1:8080")).hasMessageContaining("brackets");
        assertThatThrownBy(() -> ListenAddress.parse("host:99999")).hasMessageContaining("65535");
    }
}
