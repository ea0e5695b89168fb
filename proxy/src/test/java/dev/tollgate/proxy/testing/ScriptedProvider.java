package dev.tollgate.proxy.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A provider on plain sockets for faults mockwebserver3 cannot script byte by byte: each accepted
 * connection runs the next script, so a test can tell which connection a request arrived on (a faulty
 * connection must never be reused). A script that returns leaves its socket open until {@link #close()}.
 */
public final class ScriptedProvider implements AutoCloseable {

    /** What one provider connection does with the request it reads. */
    public interface Script {
        void run(Socket socket, String requestHead) throws Exception;
    }

    private final ServerSocket server;
    private final List<Script> scripts;
    private final AtomicInteger accepted = new AtomicInteger();
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    public ScriptedProvider(Script... scripts) throws IOException {
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.scripts = new ArrayList<>(List.of(scripts));
        this.acceptor = new Thread(this::acceptLoop, "scripted-provider");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + server.getLocalPort() + "/v1";
    }

    /** How many connections the proxy has opened so far. */
    public int connections() {
        return accepted.get();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                open.add(socket);
                int index = accepted.getAndIncrement();
                Script script = index < scripts.size() ? scripts.get(index) : (s, head) -> s.close();
                Thread worker = new Thread(() -> {
                    try {
                        script.run(socket, readRequest(socket.getInputStream()));
                    } catch (Exception e) {
                        // A proxy that hangs up mid-script is part of what is tested.
                    }
                }, "scripted-provider-" + index);
                worker.setDaemon(true);
                worker.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    /** Reads a request head and its Content-Length body; returns the head. */
    public static String readRequest(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int b;
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n") && (b = in.read()) >= 0) {
            head.write(b);
        }
        String text = head.toString(StandardCharsets.ISO_8859_1);
        for (String line : text.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                in.readNBytes(Integer.parseInt(line.substring(15).trim()));
            }
        }
        return text;
    }

    /** Writes ISO-8859-1 text and flushes. */
    public static void write(Socket socket, String text) throws IOException {
        socket.getOutputStream().write(text.getBytes(StandardCharsets.ISO_8859_1));
        socket.getOutputStream().flush();
    }

    /** Answers a chat completion with usage, on a keep-alive connection. */
    public static Script completion() {
        return (socket, head) -> {
            String body = "{\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}";
            write(socket, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
        };
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket socket : open) {
            socket.close();
        }
    }
}
