package dev.tollgate.proxy.cli;

import dev.tollgate.proxy.mock.MockUpstreamServer;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tollgate mock-upstream}: a fake OpenAI-compatible provider for trials, demos and benchmarks. */
@Command(name = "mock-upstream", mixinStandardHelpOptions = true,
        description = "Run a fake OpenAI-compatible provider (chat completions, completions, embeddings,"
                + " responses, models) that returns realistic usage. Needs no network and no key.")
final class MockUpstreamCommand implements Callable<Integer> {

    @Option(names = "--port", paramLabel = "P", defaultValue = "8081", description = "Port (default ${DEFAULT-VALUE}; 0 picks a free one).")
    int port;

    @Option(names = "--host", paramLabel = "HOST", defaultValue = "127.0.0.1", description = "Address (default ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--latency-ms", paramLabel = "N", defaultValue = "0", description = "Delay before each response (default ${DEFAULT-VALUE}).")
    long latencyMs;

    @Option(names = "--chunk-delay-ms", paramLabel = "N", defaultValue = "0",
            description = "Delay between the tokens of a streamed response; the finish, the usage and [DONE] follow the last one at once. A request header X-Mock-Chunk-Delay-Ms overrides it for its own stream (default ${DEFAULT-VALUE}).")
    long chunkDelayMs;

    @Option(names = "--h2-max-streams", paramLabel = "N", defaultValue = "" + MockUpstreamServer.DEFAULT_H2_MAX_STREAMS,
            description = "Streams an HTTP/2 client may open at once on one connection (default ${DEFAULT-VALUE}).")
    int h2MaxStreams;

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65_535) {
            throw new IllegalArgumentException("--port must be between 0 and 65535, got " + port);
        }
        if (latencyMs < 0 || chunkDelayMs < 0) {
            throw new IllegalArgumentException("--latency-ms and --chunk-delay-ms must be >= 0");
        }
        if (h2MaxStreams < 1) {
            throw new IllegalArgumentException("--h2-max-streams must be >= 1");
        }
        MockUpstreamServer server = MockUpstreamServer.start(host, port, latencyMs, chunkDelayMs, h2MaxStreams);
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "mock-upstream-shutdown"));
        System.out.println("mock-upstream listening on " + server.baseUrl());
        System.out.flush();
        server.awaitClose();
        return 0;
    }
}
