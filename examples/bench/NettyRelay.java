// A bare Netty HTTP/1.1 relay, for the load tests only: what any proxy built on Netty pays before it does
// anything of its own. load.sh runs it beside nginx when RELAY=true, so that Tollgate's CPU per call can
// be split into what Netty and the JVM cost on this host (the relay) and what metering, the ledger and the
// budgets add on top of it (Tollgate minus the relay).
//   java -cp proxy/target/classes:<the proxy module's test classpath> examples/bench/NettyRelay.java PROVIDER_URL
// It prints "relay listening on http://127.0.0.1:PORT/v1" and relays until killed.
//
// It is set up as Tollgate's own connections are: the native epoll transport where it loads, one event
// loop per core, Netty's pooled allocator, TCP_NODELAY, Netty's HTTP codecs on both sides (so a chunked
// response is decoded and encoded again, as Tollgate and nginx's proxy_pass do) and a flush at the end of
// each read. It frames every piece of content through the encoder, where Tollgate gathers a read's
// events into one chunk of its own and flushes a stream's first event at once (one write more a stream).
// It does nothing else: no metering, no rewriting, no limits, no timeouts, no back-pressure, no
// checks of what passes. Each agent connection gets a keep-alive connection of its own to the provider,
// opened when the agent connects; the load generator keeps its connections open, so that is a pool of one.
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import dev.tollgate.proxy.net.Transport;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.net.URI;

public final class NettyRelay {
    /** Tollgate's own choice of transport (epoll where it loads, unless -Dtollgate.transport=nio). */
    private static final Transport TRANSPORT = Transport.detect();

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: NettyRelay PROVIDER_URL   (for example http://127.0.0.1:8081/v1)");
            System.exit(2);
        }
        URI provider = URI.create(args[0]);
        // The groups, channels and allocator Tollgate's server uses (TollgateServer, Transport.BUFFERS).
        EventLoopGroup acceptor = TRANSPORT.newEventLoopGroup(1);
        EventLoopGroup loops = TRANSPORT.newEventLoopGroup(0);
        Bootstrap toProvider = new Bootstrap()
                .channel(TRANSPORT.socketChannel())
                .remoteAddress(provider.getHost(), provider.getPort())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.ALLOCATOR, Transport.BUFFERS);
        Channel listener = new ServerBootstrap()
                .group(acceptor, loops)
                .channel(TRANSPORT.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.ALLOCATOR, Transport.BUFFERS)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel agent) {
                        agent.pipeline().addLast(new HttpServerCodec(), new AgentSide(toProvider));
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
        int port = ((InetSocketAddress) listener.localAddress()).getPort();
        System.out.println("relay listening on http://127.0.0.1:" + port + "/v1 (provider " + provider
                + ", transport " + TRANSPORT.name().toLowerCase(java.util.Locale.ROOT) + ")");
        listener.closeFuture().sync();
    }

    /** The agent's connection: opens the provider connection, then passes every HTTP object on to it. */
    private static final class AgentSide extends ChannelInboundHandlerAdapter {
        private final Bootstrap toProvider;
        private Channel provider;

        AgentSide(Bootstrap toProvider) {
            this.toProvider = toProvider;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            Channel agent = ctx.channel();
            // Nothing is read from the agent until its provider connection is open to take it.
            agent.config().setAutoRead(false);
            toProvider.clone(agent.eventLoop())
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new HttpClientCodec(), new ProviderSide(agent));
                        }
                    })
                    .connect()
                    .addListener((ChannelFutureListener) connected -> {
                        if (connected.isSuccess() && !agent.isActive()) {
                            connected.channel().close(); // the agent left while this was connecting
                        } else if (connected.isSuccess()) {
                            provider = connected.channel();
                            agent.config().setAutoRead(true);
                        } else {
                            agent.close();
                        }
                    });
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            provider.write(msg, provider.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            provider.flush();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (provider != null) {
                provider.close();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** The provider's connection: passes every HTTP object of its answers on to the agent. */
    private static final class ProviderSide extends ChannelInboundHandlerAdapter {
        private final Channel agent;

        ProviderSide(Channel agent) {
            this.agent = agent;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (agent.isActive()) {
                agent.write(msg, agent.voidPromise());
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            agent.flush();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            // What was relayed still reaches the agent before its connection closes.
            agent.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
