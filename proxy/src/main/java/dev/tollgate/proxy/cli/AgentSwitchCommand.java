package dev.tollgate.proxy.cli;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The kill switch through a running proxy's admin API: {@code tollgate pause} and {@code tollgate resume}. */
abstract class AgentSwitchCommand implements Callable<Integer> {

    @Parameters(paramLabel = "AGENT", description = "The agent to pause or resume.")
    String agent;

    @Option(names = "--url", paramLabel = "URL", description = "The proxy (default $TOLLGATE_URL, else http://127.0.0.1:8080).")
    String url;

    @Option(names = "--token", paramLabel = "TOKEN", description = "Admin token (default $TOLLGATE_ADMIN_TOKEN).")
    String token;

    abstract String action();

    String body() {
        return "";
    }

    @Override
    public Integer call() throws Exception {
        String base = url != null ? url : System.getenv().getOrDefault("TOLLGATE_URL", "http://127.0.0.1:8080");
        base = base.replaceAll("/+$", "").replaceAll("/v1$", "");
        String bearer = token != null ? token : System.getenv("TOLLGATE_ADMIN_TOKEN");
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + "/tollgate/agents/" + agent + "/" + action()))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body()));
        if (bearer != null && !bearer.isEmpty()) {
            request.header("Authorization", "Bearer " + bearer);
        }
        HttpResponse<String> response;
        try {
            response = HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (java.net.ConnectException e) {
            throw new IllegalStateException("no proxy answers at " + base + " (set --url or TOLLGATE_URL)");
        }
        if (response.statusCode() != 200) {
            throw new IllegalStateException("the proxy answered " + response.statusCode() + ": " + response.body());
        }
        System.out.println(response.body());
        return 0;
    }
}
