package dev.tollgate.proxy.cli;

import dev.tollgate.config.ConfigException;
import dev.tollgate.config.ListenAddress;
import dev.tollgate.config.StorageConfig;
import dev.tollgate.config.TollgateConfig;
import dev.tollgate.proxy.server.TollgateServer;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tollgate serve}: runs the proxy until SIGTERM or Ctrl-C. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Run the proxy. Without --config, reads ./tollgate.yaml if present, else built-in defaults.")
final class ServeCommand implements Callable<Integer> {

    private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

    @Option(names = "--config", paramLabel = "FILE", description = "Config file (YAML).")
    Path config;

    @Option(names = "--listen", paramLabel = "HOST:PORT", description = "Address to listen on (overrides the file).")
    String listen;

    @Option(names = "--db", paramLabel = "FILE", description = "Ledger file (overrides storage.path).")
    Path db;

    @Override
    public Integer call() throws Exception {
        TollgateConfig effective = effectiveConfig();
        TollgateServer server = TollgateServer.start(effective);
        Path watched = ConfigFiles.chosen(config);
        if (watched != null) {
            server.watch(watched, reloaded -> {
                try {
                    return withFlags(reloaded);
                } catch (ConfigException e) {
                    throw new IllegalStateException(e);
                }
            });
        }
        Thread stopper = new Thread(server::close, "tollgate-shutdown");
        Runtime.getRuntime().addShutdownHook(stopper);
        System.out.println("Tollgate is forwarding " + server.baseUrl() + " to " + effective.upstream().baseUrl());
        System.out.println("Point agents at it with OPENAI_BASE_URL=" + server.baseUrl());
        server.awaitClose();
        return 0;
    }

    TollgateConfig effectiveConfig() throws ConfigException {
        Path file = ConfigFiles.chosen(config);
        if (file != null && config == null) {
            log.info("reading {}", file.toAbsolutePath());
        }
        return withFlags(ConfigFiles.load(config));
    }

    /** The command line wins over the file: on start and on every reload. */
    private TollgateConfig withFlags(TollgateConfig loaded) throws ConfigException {
        if (listen != null) {
            try {
                loaded = loaded.withListen(ListenAddress.parse(listen));
            } catch (IllegalArgumentException e) {
                throw new ConfigException("--listen: " + e.getMessage());
            }
        }
        if (db != null) {
            loaded = loaded.withStorage(new StorageConfig(db));
        }
        return loaded;
    }
}
