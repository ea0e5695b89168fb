package dev.tollgate.config;

/**
 * A {@code HOST:PORT} the proxy listens on. IPv6 hosts are written in brackets ({@code [::1]:8080}).
 * Port 0 asks the system for a free port.
 */
public record ListenAddress(String host, int port) {

    public ListenAddress {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("host is empty");
        }
        if (port < 0 || port > 65_535) {
            throw new IllegalArgumentException("port " + port + " is not between 0 and 65535");
        }
    }

    /** Parses {@code HOST:PORT}; throws {@link IllegalArgumentException} with a readable message. */
    public static ListenAddress parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("expected HOST:PORT, got nothing");
        }
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException("expected HOST:PORT, got '" + text + "'");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            throw new IllegalArgumentException("an IPv6 host must be in brackets, as in [::1]:8080, got '" + text + "'");
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expected HOST:PORT with a numeric port, got '" + text + "'");
        }
        return new ListenAddress(host, port);
    }

    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
