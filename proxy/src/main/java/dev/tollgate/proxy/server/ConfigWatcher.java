package dev.tollgate.proxy.server;

import dev.tollgate.config.ConfigException;
import dev.tollgate.config.ConfigLoader;
import dev.tollgate.config.TollgateConfig;
import dev.tollgate.proxy.admission.Gate;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads the config file when it changes. Polling (once a second, on modification time and size) is
 * used rather than a file-system watch, which misses the rename that many editors and config managers
 * save with. A file that fails validation is refused with every problem logged, and the last good
 * config stays in force. Agents, teams, the global budget, identity rules and the time zone take effect
 * for the next call. A change to {@code listen}, {@code upstream}, {@code storage}, {@code pricing} or the
 * identity header names needs a restart, so such a file is refused as a whole rather than half applied
 * (a half-applied upstream change could send an agent's Tollgate key to the provider). An empty file is
 * taken for one caught mid-save and ignored: it would otherwise lift every limit.
 */
final class ConfigWatcher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ConfigWatcher.class);

    private final Path file;
    private final Gate gate;
    private final java.util.function.UnaryOperator<TollgateConfig> overrides;
    private final ConfigLoader loader = new ConfigLoader();
    private final ScheduledExecutorService timer;
    private Object lastSeen;

    /** @param overrides what the command line overrides ({@code --listen}, {@code --db}), applied to every reload */
    ConfigWatcher(Path file, Gate gate, java.util.function.UnaryOperator<TollgateConfig> overrides) {
        this.file = file;
        this.gate = gate;
        this.overrides = overrides;
        this.lastSeen = stamp();
        this.timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "tollgate-config-watch");
            thread.setDaemon(true);
            return thread;
        });
        timer.scheduleWithFixedDelay(this::check, 1, 1, TimeUnit.SECONDS);
    }

    private Object stamp() {
        try {
            BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
            return attributes.lastModifiedTime().toMillis() + ":" + attributes.size();
        } catch (IOException e) {
            return null;
        }
    }

    /** Reloads if the file changed; public for tests that do not want to wait for the timer. */
    void check() {
        Object now = stamp();
        if (Objects.equals(now, lastSeen) || now == null) {
            return;
        }
        lastSeen = now;
        TollgateConfig current = gate.config();
        TollgateConfig loaded;
        try {
            if (Files.size(file) == 0) {
                lastSeen = null;
                return;
            }
        } catch (IOException e) {
            return;
        }
        try {
            loaded = overrides.apply(loader.load(file));
        } catch (ConfigException e) {
            log.error("config {} changed but is refused; the last good config stays in force:\n  {}", file,
                    String.join("\n  ", e.problems()));
            return;
        } catch (RuntimeException e) {
            log.error("config {} changed but could not be read; the last good config stays in force", file, e);
            return;
        }
        if (!loaded.listen().equals(current.listen()) || !loaded.upstream().equals(current.upstream())
                || !loaded.storage().equals(current.storage()) || !loaded.pricing().equals(current.pricing())
                || !loaded.identity().agentHeader().equals(current.identity().agentHeader())
                || !loaded.identity().intentHeader().equals(current.identity().intentHeader())
                || loaded.limits().maxRequestBytes() != current.limits().maxRequestBytes()
                || loaded.limits().agentIdleSeconds() != current.limits().agentIdleSeconds()) {
            log.error("config {} changed listen, upstream, storage, pricing, the identity headers, limits.max_request_bytes"
                    + " or limits.agent_idle_seconds, which need a restart;"
                    + " the file is refused and the last good config stays in force until then", file);
            return;
        }
        gate.apply(loaded);
        log.info("config {} reloaded: {} agent(s), {} team(s)", file, loaded.agents().size(), loaded.teams().size());
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
