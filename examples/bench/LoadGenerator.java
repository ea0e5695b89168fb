// A light load generator for Tollgate's load tests, on one Netty event-loop thread (run it with
// examples/bench/load.sh). Three modes:
//   rate URL RATE SECONDS STREAM [CONNECTIONS [EVENT_DELAY_MS]]  open loop: request i is due at start +
//        i/RATE and its latency counts from that intended time, so a stall is counted in full instead of
//        hiding behind requests that were never sent (coordinated omission). A due request takes an idle
//        keep-alive connection, opens a new one while fewer than CONNECTIONS (default 256) are open, or
//        waits. EVENT_DELAY_MS asks the fake provider (X-Mock-Chunk-Delay-Ms) to pace each stream's events
//        that far apart, as a model producing tokens would, instead of sending them in one burst.
//   max  URL CONNECTIONS SECONDS STREAM             closed loop: each connection sends its next request
//        as soon as the last one ends; prints the throughput.
//   hold URL STREAMS STREAM                         opens STREAMS connections, each with one request,
//        all at once (ramped over a second), and waits until every one has ended.
//   mixed URL RATE SECONDS HANGUP_FRACTION          open loop as in rate, half the requests streamed, and
//        that fraction of them hung up on (connection closed) as soon as the response headers arrive.
// Every request is POST URL/chat/completions with the header X-Agent-Id: bench-agent. Two system properties
// make the calls look more like a working agent's: -Dbench.intents=N names one of N intents in turn in
// X-Intent-Id (default none), and -Dbench.promptBytes=N pads the user message to about N bytes of prose
// (default a 48-byte question). Output is one
// line of key=value pairs; latencies are in microseconds: ttfb (to the response headers), total
// (to the last byte) and spread (from the headers to the last byte of each answer: for a paced stream, whose
// events the fake provider sends on a fixed schedule, what a proxy adds to it is the delay it adds between
// events beyond the first byte).
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

public final class LoadGenerator {
    private static final int WARM_UP_SECONDS = 3;
    private final URI uri;
    private final String path;
    private final ByteBuf body;
    private final ByteBuf streamBody;
    private final boolean stream;
    private final java.util.SplittableRandom random = new java.util.SplittableRandom(7);
    private double streamFraction;
    private double hangUpFraction;
    /** The delay between a stream's events asked of the fake provider, or null for its own (a burst). */
    private String eventDelayMs;
    private long hungUp;
    /** Errors by kind: the HTTP status, or 0 for a connection that closed mid-response. */
    private final java.util.TreeMap<Integer, Long> errorKinds = new java.util.TreeMap<>();
    private final EventLoop loop;
    private final Bootstrap bootstrap;
    private final Histogram ttfb = new Histogram(3);
    private final Histogram total = new Histogram(3);
    /** Four digits, not three: about 8 µs apart at a 200 ms stream, where three would be 128 µs apart. */
    private final Histogram spread = new Histogram(4);
    private final ArrayDeque<Channel> idle = new ArrayDeque<>();
    private final ArrayDeque<Long> waiting = new ArrayDeque<>();
    private int open;
    private int maxConnections;
    private long errors;
    private long completed;
    private int openStreamsPeak;
    private int inFlight;
    private Runnable afterEach = () -> { };

    LoadGenerator(String url, boolean stream, EventLoop loop, Class<? extends SocketChannel> channelType) {
        this.uri = URI.create(url);
        this.path = uri.getPath() + "/chat/completions";
        this.stream = stream;
        this.body = requestBody(stream);
        this.streamBody = requestBody(true);
        this.streamFraction = stream ? 1 : 0;
        this.loop = loop;
        this.bootstrap = new Bootstrap().group(loop).channel(channelType)
                .option(ChannelOption.TCP_NODELAY, true).option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpClientCodec(), new ResponseHandler());
                    }
                });
    }

    /** X-Intent-Id values to name in turn, or none (-Dbench.intents). */
    private static final String[] INTENTS = java.util.stream.IntStream.range(0, Integer.getInteger("bench.intents", 0))
            .mapToObj(i -> "task-" + i).toArray(String[]::new);
    private int nextIntent;

    private static ByteBuf requestBody(boolean stream) {
        String question = "Summarise the open tickets of the support queue.";
        int promptBytes = Integer.getInteger("bench.promptBytes", 0);
        StringBuilder content = new StringBuilder(question);
        // Prose with the escapes a real conversation has (quotes, line breaks), as a pasted ticket log would.
        String line = " Ticket 4711: the \\\"export\\\" button times out after 30 s on large accounts.\\n";
        while (content.length() + line.length() <= promptBytes) {
            content.append(line);
        }
        return Unpooled.unreleasableBuffer(Unpooled.copiedBuffer(
                "{\"model\":\"gpt-4o-mini\",\"max_tokens\":32," + (stream ? "\"stream\":true," : "")
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}",
                StandardCharsets.UTF_8));
    }

    /** One request in flight on a connection: when it was due, and whether its headers have arrived. */
    private static final class Exchange {
        long intended;
        long headersAt;
        boolean ok;
        boolean keepAlive;
        int status;
    }

    private final class ResponseHandler extends SimpleChannelInboundHandler<HttpObject> {
        private final Exchange exchange = new Exchange();

        void start(Channel channel, long intended) {
            exchange.intended = intended;
            exchange.ok = false;
            exchange.status = 0;
            inFlight++;
            openStreamsPeak = Math.max(openStreamsPeak, inFlight);
            ByteBuf chosen = streamFraction >= 1 || (streamFraction > 0 && random.nextDouble() < streamFraction) ? streamBody : body;
            DefaultFullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, path,
                    chosen.duplicate());
            request.headers().set(HttpHeaderNames.HOST, uri.getHost() + ":" + uri.getPort())
                    .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                    .set(HttpHeaderNames.CONTENT_LENGTH, chosen.readableBytes())
                    .set("X-Agent-Id", "bench-agent");
            if (INTENTS.length > 0) {
                request.headers().set("X-Intent-Id", INTENTS[Math.floorMod(nextIntent++, INTENTS.length)]);
            }
            if (eventDelayMs != null) {
                request.headers().set("X-Mock-Chunk-Delay-Ms", eventDelayMs);
            }
            channel.writeAndFlush(request);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
            long now = System.nanoTime();
            if (msg instanceof HttpResponse response) {
                exchange.status = response.status().code();
                exchange.ok = exchange.status == 200;
                exchange.keepAlive = HttpUtil.isKeepAlive(response);
                exchange.headersAt = now;
                ttfb.recordValue(Math.max(0, (now - exchange.intended) / 1_000));
                if (hangUpFraction > 0 && random.nextDouble() < hangUpFraction) {
                    // An agent that gives up mid-response: the proxy must cancel, charge and free everything.
                    inFlight--;
                    hungUp++;
                    exchange.intended = 0;
                    ctx.close();
                    return;
                }
            }
            if (msg instanceof LastHttpContent && exchange.intended != 0) {
                inFlight--;
                if (exchange.ok) {
                    total.recordValue(Math.max(0, (now - exchange.intended) / 1_000));
                    spread.recordValue(Math.max(0, (now - exchange.headersAt) / 1_000));
                    completed++;
                } else {
                    errors++;
                    errorKinds.merge(exchange.status, 1L, Long::sum);
                }
                exchange.intended = 0;
                if (exchange.keepAlive) {
                    released(ctx.channel());
                } else {
                    afterEach.run();  // the server closes this connection; the next request opens another
                    ctx.close();
                }
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (exchange.intended != 0) {
                inFlight--;
                errors++;
                errorKinds.merge(0, 1L, Long::sum);
                exchange.intended = 0;
            }
            idle.remove(ctx.channel());
            open--;
            pump();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private void released(Channel channel) {
        afterEach.run();
        Long next = waiting.poll();
        if (next != null) {
            channel.pipeline().get(ResponseHandler.class).start(channel, next);
        } else {
            idle.push(channel);
        }
    }

    /** Sends a request due at {@code intended} now if a connection is free or may be opened, else queues it. */
    private void submit(long intended) {
        Channel channel = idle.poll();
        if (channel != null) {
            channel.pipeline().get(ResponseHandler.class).start(channel, intended);
        } else if (open < maxConnections) {
            connect(intended);
        } else {
            waiting.add(intended);
        }
    }

    private void connect(long intended) {
        open++;
        bootstrap.connect(uri.getHost(), uri.getPort()).addListener(f -> {
            Channel channel = ((io.netty.channel.ChannelFuture) f).channel();
            if (f.isSuccess()) {
                channel.pipeline().get(ResponseHandler.class).start(channel, intended);
            } else {
                errors++;
                open--;
            }
        });
    }

    private void pump() {
        while (!waiting.isEmpty() && open < maxConnections) {
            connect(waiting.poll());
        }
    }

    private String percentiles(String name, Histogram h) {
        return String.format("%s_p50=%d %s_p90=%d %s_p99=%d %s_p999=%d %s_max=%d", name, h.getValueAtPercentile(50),
                name, h.getValueAtPercentile(90), name, h.getValueAtPercentile(99), name, h.getValueAtPercentile(99.9),
                name, h.getMaxValue());
    }

    /** Runs a task on the generator's loop and waits for it. */
    private void onLoop(Runnable task) throws InterruptedException {
        CountDownLatch latch = new CountDownLatch(1);
        loop.execute(() -> {
            task.run();
            latch.countDown();
        });
        latch.await();
    }

    /** A few seconds at the same rate first, not recorded: the generator's own JIT warm-up is not the server's latency. */
    String openLoop(int rate, int seconds, int connections) throws InterruptedException {
        runOpenLoop(rate, WARM_UP_SECONDS, connections);
        onLoop(() -> {
            ttfb.reset();
            total.reset();
            spread.reset();
            completed = 0;
            errors = 0;
        });
        return runOpenLoop(rate, seconds, connections);
    }

    private String runOpenLoop(int rate, int seconds, int connections) throws InterruptedException {
        maxConnections = connections;
        long count = (long) rate * seconds;
        long start = System.nanoTime() + 50_000_000L;
        long[] sent = {0};
        CountDownLatch scheduled = new CountDownLatch(1);
        var ticker = loop.scheduleAtFixedRate(() -> {
            long now = System.nanoTime();
            while (sent[0] < count) {
                long intended = start + sent[0] * 1_000_000_000L / rate;
                if (intended > now) {
                    break;
                }
                sent[0]++;
                submit(intended);
            }
            if (sent[0] == count) {
                scheduled.countDown();
            }
        }, 0, 200, TimeUnit.MICROSECONDS);
        scheduled.await();
        ticker.cancel(false);
        waitForAll(count, 30);
        return String.format("mode=rate rate=%d stream=%s requests=%d completed=%d hung_up=%d errors=%d error_kinds=%s connections=%d %s %s %s",
                rate, streamFraction >= 1 ? "true" : streamFraction > 0 ? "mixed" : "false", count, completed, hungUp, errors,
                errorKinds.toString().replace(" ", ""), open,
                percentiles("ttfb", ttfb), percentiles("total", total), percentiles("spread", spread));
    }

    String closedLoop(int connections, int seconds) throws InterruptedException {
        maxConnections = connections;
        long[] window = new long[2];
        boolean[] stopped = {false};
        afterEach = () -> {
            if (stopped[0]) {
                waiting.clear();
            } else {
                waiting.add(System.nanoTime());
            }
        };
        onLoop(() -> {
            for (int i = 0; i < connections; i++) {
                submit(System.nanoTime());
            }
        });
        Thread.sleep(2_000);  // warm-up: connections open, the JIT settles
        onLoop(() -> {
            window[0] = completed;
            ttfb.reset();
            total.reset();
            spread.reset();
        });
        long startNanos = System.nanoTime();
        Thread.sleep(seconds * 1_000L);
        onLoop(() -> {
            window[1] = completed;
            stopped[0] = true;
        });
        double elapsed = (System.nanoTime() - startNanos) / 1e9;
        long done = window[1] - window[0];
        waitForAll(-1, 10);
        return String.format("mode=max connections=%d seconds=%d completed=%d errors=%d throughput_per_s=%.0f %s", connections,
                seconds, done, errors, done / elapsed, percentiles("total", total));
    }

    String hold(int streams) throws InterruptedException {
        maxConnections = streams;
        long start = System.nanoTime();
        long[] sent = {0};
        CountDownLatch scheduled = new CountDownLatch(1);
        var ticker = loop.scheduleAtFixedRate(() -> {
            long due = Math.min(streams, (System.nanoTime() - start) / 100_000L + 1);  // 10,000 per second
            while (sent[0] < due) {
                sent[0]++;
                submit(System.nanoTime());
            }
            if (sent[0] == streams) {
                scheduled.countDown();
            }
        }, 0, 1, TimeUnit.MILLISECONDS);
        scheduled.await();
        ticker.cancel(false);
        waitForAll(streams, 300);
        return String.format("mode=hold streams=%d completed=%d errors=%d open_streams_peak=%d %s %s", streams, completed,
                errors, openStreamsPeak, percentiles("ttfb", ttfb), percentiles("total", total));
    }

    /** Waits until {@code expected} requests have ended (or, with -1, none is in flight), at most the given seconds. */
    private void waitForAll(long expected, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            long[] state = new long[2];
            onLoop(() -> {
                state[0] = completed + errors + hungUp;
                state[1] = inFlight + waiting.size();
            });
            if (expected >= 0 ? state[0] >= expected : state[1] == 0) {
                return;
            }
            Thread.sleep(20);
        }
    }

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        boolean epoll = Epoll.isAvailable();
        var group = new MultiThreadIoEventLoopGroup(1, epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        Class<? extends SocketChannel> type = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
        try {
            EventLoop loop = group.next();
            String line = switch (mode) {
                case "rate" -> {
                    LoadGenerator paced = new LoadGenerator(args[1], Boolean.parseBoolean(args[4]), loop, type);
                    paced.eventDelayMs = args.length > 6 ? String.valueOf(Integer.parseInt(args[6])) : null;
                    yield paced.openLoop(Integer.parseInt(args[2]), Integer.parseInt(args[3]),
                            args.length > 5 ? Integer.parseInt(args[5]) : 256);
                }
                case "max" -> new LoadGenerator(args[1], Boolean.parseBoolean(args[4]), loop, type).closedLoop(
                        Integer.parseInt(args[2]), Integer.parseInt(args[3]));
                case "hold" -> new LoadGenerator(args[1], Boolean.parseBoolean(args[3]), loop, type).hold(Integer.parseInt(args[2]));
                case "mixed" -> {
                    LoadGenerator mixed = new LoadGenerator(args[1], false, loop, type);
                    mixed.streamFraction = 0.5;
                    mixed.hangUpFraction = Double.parseDouble(args[4]);
                    yield mixed.runOpenLoop(Integer.parseInt(args[2]), Integer.parseInt(args[3]), 256);
                }
                default -> throw new IllegalArgumentException("mode must be rate, max, hold or mixed: " + mode);
            };
            System.out.println(line);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }
}
