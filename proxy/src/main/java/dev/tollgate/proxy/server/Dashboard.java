package dev.tollgate.proxy.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The dashboard page ({@code GET /dashboard}): one self-contained HTML file in the jar, with no CDN and
 * no build step. It reads the admin API, so it shows data only where the admin API answers (loopback,
 * or with {@code ?token=} when {@code admin.token} is set).
 */
final class Dashboard {

    private static final byte[] PAGE = load();

    private Dashboard() {
    }

    static byte[] page() {
        return PAGE;
    }

    private static byte[] load() {
        try (InputStream in = Dashboard.class.getResourceAsStream("/dev/tollgate/proxy/dashboard/index.html")) {
            if (in == null) {
                throw new IllegalStateException("the dashboard page is missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
