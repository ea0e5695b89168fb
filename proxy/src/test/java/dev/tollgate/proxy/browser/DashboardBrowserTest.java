package dev.tollgate.proxy.browser;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.proxy.mock.MockUpstreamServer;
import dev.tollgate.proxy.testing.ProxyHarness;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in headless Chromium (Debian's chromium and chromium-driver) while calls flow through
 * the proxy: the spend it shows matches the ledger, and its Pause button stops the agent's next call.
 * Runs in the {@code browser} Maven profile, which {@code .ci/run} enables after installing Chromium.
 */
class DashboardBrowserTest {

    private static int call(ProxyHarness proxy, String agent, String intent) throws Exception {
        return proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions")).header("X-Agent-Id", agent)
                .header("X-Intent-Id", intent)
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"" + intent + "\"}]}"))
                .build(), HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    private static String ledgerSpentToday(Path db, String agent) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
                var s = c.prepareStatement("SELECT COALESCE(SUM(cost_nanos), 0) FROM calls WHERE agent = ?")) {
            s.setString(1, agent);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return "$" + dev.tollgate.pricing.UsdNanos.plainDollars(rs.getLong(1));
            }
        }
    }

    @Test
    void theDashboardShowsTheLedgersFiguresAndItsPauseButtonWorks() throws Exception {
        ChromeOptions options = new ChromeOptions();
        options.setBinary(System.getProperty("chromium.binary", "/usr/bin/chromium"));
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--window-size=1280,900", "--user-data-dir=" + Files.createTempDirectory("chromium"));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(Path.of(System.getProperty("chromedriver", "/usr/bin/chromedriver")).toFile())
                .build();
        try (MockUpstreamServer provider = MockUpstreamServer.start("127.0.0.1", 0, 0, 0);
                ProxyHarness proxy = ProxyHarness.start(provider.baseUrl(),
                        "agents:\n  research-agent: {team: support, max_cost_per_day_usd: 0.01, max_requests_per_hour: 50}\n"
                                + "  billing-agent: {team: finance, max_cost_per_day_usd: 5}\n")) {
            for (int i = 0; i < 6; i++) {
                call(proxy, "research-agent", "ticket-" + (i % 3));
                call(proxy, "billing-agent", "invoice-" + i);
            }
            proxy.server().ledger().flush(5, TimeUnit.SECONDS);
            Path db = proxy.server().ledger().path();
            WebDriver browser = new ChromeDriver(service, options);
            try {
                browser.get(proxy.uri("/dashboard").toString());
                WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(15));
                String expected = ledgerSpentToday(db, "research-agent");
                wait.until(d -> d.findElements(By.cssSelector("[data-spent-today='research-agent']")).stream()
                        .anyMatch(e -> e.getText().equals(expected)));
                // More calls while the page is open: the figures follow.
                call(proxy, "research-agent", "ticket-9");
                proxy.server().ledger().flush(5, TimeUnit.SECONDS);
                String after = ledgerSpentToday(db, "research-agent");
                wait.until(d -> d.findElement(By.cssSelector("[data-spent-today='research-agent']")).getText().equals(after));
                assertThat(browser.findElement(By.id("intents")).getText()).contains("ticket-0");
                assertThat(browser.findElement(By.id("models")).getText()).contains("gpt-4o-2024-08-06");

                Path shot = Path.of("target/dashboard.png");
                Files.copy(((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE).toPath(), shot,
                        StandardCopyOption.REPLACE_EXISTING);
                assertThat(Files.size(shot)).isGreaterThan(10_000);

                browser.findElement(By.cssSelector("button[data-action='pause'][data-for='research-agent']")).click();
                wait.until(d -> d.findElements(By.cssSelector("button[data-action='resume'][data-for='research-agent']")).size() == 1);
                assertThat(call(proxy, "research-agent", "ticket-10")).isEqualTo(429);
                assertThat(call(proxy, "billing-agent", "invoice-10")).isEqualTo(200);
            } finally {
                browser.quit();
            }
        }
    }
}
