package dev.tollgate.proxy.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * An agent on a plain socket, for what HTTP clients hide: reading a stream part by part, hanging up
 * mid-response, and seeing exactly how a connection ends.
 */
public final class RawHttp implements AutoCloseable {

    private final Socket socket;
    private final InputStream in;
    private final ByteArrayOutputStream received = new ByteArrayOutputStream();

    public RawHttp(int port) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(10_000);
        in = socket.getInputStream();
    }

    public RawHttp send(String requestHead, byte[] body) throws IOException {
        socket.getOutputStream().write(requestHead.getBytes(StandardCharsets.ISO_8859_1));
        socket.getOutputStream().write(body);
        socket.getOutputStream().flush();
        return this;
    }

    /** A POST with a JSON body, in HTTP/1.1 with keep-alive. */
    public RawHttp post(String path, String json, String... headers) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        StringBuilder head = new StringBuilder("POST " + path + " HTTP/1.1\r\nHost: tollgate\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n");
        for (String header : headers) {
            head.append(header).append("\r\n");
        }
        return send(head.append("\r\n").toString(), body);
    }

    /** Reads until the received text contains {@code marker}; fails after the socket timeout. */
    public String readUntil(String marker) throws IOException {
        byte[] buf = new byte[8192];
        while (!text().contains(marker)) {
            int n = in.read(buf);
            if (n < 0) {
                throw new IOException("connection closed before '" + marker + "' arrived; got: " + text());
            }
            received.write(buf, 0, n);
        }
        return text();
    }

    /**
     * Reads until the proxy closes the connection, and returns how it ended: {@code "eof"}, {@code "reset"}
     * or {@code "timeout"} when it stays open past {@code timeoutMs}.
     */
    public String readToEnd(int timeoutMs) throws IOException {
        socket.setSoTimeout(timeoutMs);
        byte[] buf = new byte[8192];
        try {
            int n;
            while ((n = in.read(buf)) >= 0) {
                received.write(buf, 0, n);
            }
            return "eof";
        } catch (SocketTimeoutException e) {
            return "timeout";
        } catch (IOException e) {
            return "reset";
        }
    }

    public String text() {
        return received.toString(StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
