package dev.tollgate.proxy.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tollgate.config.UpstreamConfig;
import dev.tollgate.proxy.net.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.util.concurrent.Future;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A provider connection opened while the event loop handles a batch of I/O events, in the handling of one
 * event that closed another socket whose event comes later in the same batch, reuses that socket's file
 * descriptor number. Netty's epoll loop would hand the closed socket's pending read to the new, not yet
 * connected, socket, which then closes, and the call gets a 502 ("channel closed", seen in the soak when
 * agents hang up mid-stream). The pool opens its sockets after the batch, so the connection survives.
 */
class ProviderSocketReuseTest {

    private final EventLoopGroup serverLoop = Transport.EPOLL.newEventLoopGroup(1);
    private final EventLoopGroup clientLoop = Transport.EPOLL.newEventLoopGroup(1);
    private UpstreamConnectionPool pool;

    @AfterEach
    void stop() {
        if (pool != null) {
            pool.close();
        }
        clientLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        serverLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void aConnectionOpenedWhereAClosedSocketsEventIsStillPendingSurvives() throws Exception {
        assumeTrue(Epoll.isAvailable(), "the hazard is the epoll loop's; NIO keys events by channel, not descriptor");
        BlockingQueue<Channel> accepted = new LinkedBlockingQueue<>();
        Channel server = new ServerBootstrap().group(serverLoop).channel(Transport.EPOLL.serverChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        accepted.add(ch);
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
        int port = ((InetSocketAddress) server.localAddress()).getPort();
        pool = new UpstreamConnectionPool(new UpstreamConfig(URI.create("http://127.0.0.1:" + port + "/v1"), null,
                5_000, 600_000, false), Transport.EPOLL, null);
        EventLoop loop = clientLoop.next();

        // Two sockets on the loop: when "trigger" is readable, its handler closes "victim" and takes a
        // provider connection, while the victim's own read event waits later in the same batch.
        CompletableFuture<Future<Channel>> acquired = new CompletableFuture<>();
        Channel victim = connect(loop, port, new Discard());
        int victimFd = ((EpollSocketChannel) victim).fd().intValue();
        Channel trigger = connect(loop, port, new Discard() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                super.channelRead(ctx, msg);
                victim.close();
                acquired.complete(pool.acquire(loop));
            }
        });
        Channel triggerPeer = accepted.take();
        Channel victimPeer = accepted.take();
        if (((InetSocketAddress) victimPeer.remoteAddress()).getPort() != ((InetSocketAddress) victim.localAddress()).getPort()) {
            Channel swap = triggerPeer;
            triggerPeer = victimPeer;
            victimPeer = swap;
        }

        // Both become readable while the loop is busy, so one epoll_wait returns both, trigger's first.
        CountDownLatch busy = new CountDownLatch(1);
        loop.execute(() -> {
            busy.countDown();
            sleep(300);
        });
        busy.await();
        triggerPeer.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {1})).sync();
        sleep(20);
        victimPeer.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {2})).sync();

        Future<Channel> connection = acquired.get(5, TimeUnit.SECONDS).await();
        assertThat(connection.cause()).as("the provider connection").isNull();
        Channel provider = connection.getNow();
        assertThat(((EpollSocketChannel) provider).fd().intValue()).as("it reuses the victim's descriptor number").isEqualTo(victimFd);
        Thread.sleep(100);
        assertThat(provider.isActive()).as("and stays open").isTrue();
        pool.release(provider);
        trigger.close().sync();
    }

    private Channel connect(EventLoop loop, int port, ChannelHandler handler) throws InterruptedException {
        return new Bootstrap().group(loop).channel(Transport.EPOLL.socketChannel()).handler(handler)
                .connect("127.0.0.1", port).sync().channel();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Reads and drops what arrives. */
    private static class Discard extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ((ByteBuf) msg).release();
        }
    }
}
