package dev.tollgate.proxy.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.config.ListenAddress;
import dev.tollgate.config.TollgateConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class TollgateCliTest {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream originalOut;
    private PrintStream originalErr;

    @BeforeEach
    void capture() {
        originalOut = System.out;
        originalErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restore() {
        System.setOut(originalOut);
        System.setErr(originalErr);
    }

    private String stderr() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void helpListsTheCommands() {
        int code = TollgateCli.run("--help");

        assertThat(code).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("serve").contains("mock-upstream");
    }

    @Test
    void badConfigExitsNonZeroWithItsProblemsAndNoStackTrace(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("bad.yaml");
        Files.writeString(file, "upstream:\n  bse_url: http://x/v1\nlisten: nowhere\n");

        int code = TollgateCli.run("serve", "--config", file.toString());

        assertThat(code).isEqualTo(1);
        assertThat(stderr()).startsWith("tollgate: bad config:").contains("upstream.bse_url: unknown key")
                .doesNotContain("\tat ");
    }

    @Test
    void missingConfigFileIsOneClearLine() {
        int code = TollgateCli.run("serve", "--config", "/nonexistent/tollgate.yaml");

        assertThat(code).isEqualTo(1);
        assertThat(stderr()).contains("/nonexistent/tollgate.yaml: no such file").doesNotContain("\tat ");
    }

    @Test
    void unknownOptionExitsWithUsageHint() {
        int code = TollgateCli.run("serve", "--lisen", "x");

        assertThat(code).isEqualTo(2);
        assertThat(stderr()).startsWith("tollgate: Unknown option").contains("'--lisen'").contains("--help");
    }

    @Test
    void badListenFlagIsReported() {
        int code = TollgateCli.run("serve", "--listen", "localhost");

        assertThat(code).isEqualTo(1);
        assertThat(stderr()).contains("--listen: expected HOST:PORT");
    }

    @Test
    void pricesPrintsTheTableAndResolvesNames(@TempDir Path dir) throws Exception {
        assertThat(TollgateCli.run("prices")).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("gpt-4o-mini").contains("$0.075").contains("o4-mini");

        out.reset();
        assertThat(TollgateCli.run("prices", "openai/gpt-4o-2024-08-06")).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).startsWith("openai/gpt-4o-2024-08-06 -> gpt-4o (bundled table)")
                .contains("input $2.50, cached input $1.25, output $10.00");

        Path prices = dir.resolve("prices.yaml");
        Files.writeString(prices, "models:\n  my-finetune: { input: 3.00, cached_input: 1.50, output: 12.00 }\n");
        Path config = dir.resolve("t.yaml");
        Files.writeString(config, "pricing:\n  file: prices.yaml\n");
        out.reset();
        assertThat(TollgateCli.run("prices", "--config", config.toString(), "my-finetune")).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("my-finetune -> my-finetune (" + prices + ")");

        out.reset();
        assertThat(TollgateCli.run("prices", "unknown-model")).isEqualTo(1);
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("unknown-model: no price").contains("refused");
    }

    @Test
    void checkConfigPrintsEveryProblemWithItsPath(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("bad.yaml");
        Files.writeString(bad, "agents:\n  research-agent:\n    max_cost_per_day_usd: 0\n    colour: red\nlisten: nowhere\n");
        Path good = dir.resolve("good.yaml");
        Files.writeString(good, "time_zone: Europe/Berlin\nagents:\n  research-agent: {max_cost_per_day_usd: 50}\n");

        assertThat(TollgateCli.run("check-config", bad.toString())).isEqualTo(1);
        assertThat(out.toString(StandardCharsets.UTF_8))
                .contains("agents.research-agent.max_cost_per_day_usd: must be > 0")
                .contains("agents.research-agent.colour: unknown key")
                .contains("listen: expected HOST:PORT");
        out.reset();
        assertThat(TollgateCli.run("check-config", good.toString())).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("ok (1 agent(s), 0 team(s), windows in Europe/Berlin)");
    }

    @Test
    void pauseWithoutAProxySaysWhereItLooked() {
        int code = TollgateCli.run("pause", "research-agent", "--url", "http://127.0.0.1:1");

        assertThat(code).isEqualTo(1);
        assertThat(stderr()).contains("no proxy answers at http://127.0.0.1:1");
    }

    @Test
    void flagsOverrideTheConfigFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("t.yaml");
        Files.writeString(file, "listen: 127.0.0.1:7000\nstorage:\n  path: a.db\nupstream:\n  base_url: http://p:1/v1\n");
        ServeCommand serve = new ServeCommand();
        new CommandLine(serve).parseArgs("--config", file.toString(), "--listen", "0.0.0.0:7001", "--db", "b.db");

        TollgateConfig config = serve.effectiveConfig();

        assertThat(config.listen()).isEqualTo(new ListenAddress("0.0.0.0", 7001));
        assertThat(config.storage().path()).isEqualTo(Path.of("b.db"));
        assertThat(config.upstream().hostHeader()).isEqualTo("p:1");
    }
}
