package dev.tollgate.proxy.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;

/**
 * A provider on a plain socket that starts a chunked event stream, sends {@code firstEvent}, and then
 * resets the TCP connection (SO_LINGER 0), as a crashing provider or a dropped load balancer does.
 * mockwebserver3 cannot reset a connection mid-body, so this one test peer is hand-made.
 */
public final class ResettingProvider implements AutoCloseable {

    private final ServerSocket server;
    private final CompletableFuture<Void> done;

    public ResettingProvider(String firstEvent) throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        done = CompletableFuture.runAsync(() -> serveOnce(firstEvent));
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + server.getLocalPort() + "/v1";
    }

    private void serveOnce(String firstEvent) {
        try (Socket socket = server.accept()) {
            readRequestHead(socket.getInputStream());
            OutputStream out = socket.getOutputStream();
            byte[] event = firstEvent.getBytes(StandardCharsets.UTF_8);
            out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + Integer.toHexString(event.length) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.write(event);
            out.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            Thread.sleep(200);
            socket.setSoLinger(true, 0);
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void readRequestHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        int b;
        while (!head.toString().endsWith("\r\n\r\n") && (b = in.read()) >= 0) {
            head.append((char) b);
        }
        // The request body is left unread: the provider never looks at it before crashing.
    }

    @Override
    public void close() throws Exception {
        server.close();
        done.get();
    }
}
