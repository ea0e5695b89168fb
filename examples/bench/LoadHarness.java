// An open-loop, constant-rate load generator for Tollgate's load tests (run it with examples/bench/load.sh).
// Each request is scheduled at its intended start time; latency is measured from that time, so a stall
// is counted in full instead of hiding behind requests that were never sent (coordinated omission).
// Usage: java -cp <HdrHistogram> LoadHarness.java URL RATE SECONDS STREAM(true|false) [AGENT]
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Recorder;
import org.HdrHistogram.Histogram;

public class LoadHarness {
    public static void main(String[] args) throws Exception {
        String url = args[0];
        int rate = Integer.parseInt(args[1]);
        int seconds = Integer.parseInt(args[2]);
        boolean stream = Boolean.parseBoolean(args[3]);
        String agent = args.length > 4 ? args[4] : "bench-agent";
        String body = "{\"model\":\"gpt-4o-mini\",\"max_tokens\":32," + (stream ? "\"stream\":true," : "")
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Summarise the open tickets of the support queue.\"}]}";
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).executor(Executors.newFixedThreadPool(4)).build();
        Recorder total = new Recorder(3);
        Recorder firstByte = new Recorder(3);
        AtomicLong errors = new AtomicLong();
        AtomicLong done = new AtomicLong();
        long intervalNanos = 1_000_000_000L / rate;
        long count = (long) rate * seconds;
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
        long start = System.nanoTime() + 100_000_000L;
        for (long i = 0; i < count; i++) {
            long intended = start + i * intervalNanos;
            scheduler.schedule(() -> {
                HttpRequest request = HttpRequest.newBuilder(URI.create(url + "/chat/completions"))
                        .header("Content-Type", "application/json").header("X-Agent-Id", agent)
                        .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(body)).build();
                client.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream()).whenComplete((response, failure) -> {
                    try {
                        if (failure != null || response.statusCode() != 200) {
                            errors.incrementAndGet();
                            if (response != null) {
                                response.body().close();
                            }
                            return;
                        }
                        firstByte.recordValue(Math.max(0, (System.nanoTime() - intended) / 1_000));
                        try (var in = response.body()) {
                            in.transferTo(java.io.OutputStream.nullOutputStream());
                        }
                        total.recordValue(Math.max(0, (System.nanoTime() - intended) / 1_000));
                    } catch (Exception e) {
                        errors.incrementAndGet();
                    } finally {
                        done.incrementAndGet();
                    }
                });
            }, Math.max(0, intended - System.nanoTime()), TimeUnit.NANOSECONDS);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds + 30);
        while (done.get() < count && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        scheduler.shutdownNow();
        Histogram t = total.getIntervalHistogram();
        Histogram f = firstByte.getIntervalHistogram();
        System.out.printf("rate=%d stream=%s requests=%d errors=%d p50=%d p90=%d p99=%d p999=%d ttfb_p50=%d ttfb_p99=%d (microseconds)%n",
                rate, stream, t.getTotalCount(), errors.get(), t.getValueAtPercentile(50), t.getValueAtPercentile(90),
                t.getValueAtPercentile(99), t.getValueAtPercentile(99.9), f.getValueAtPercentile(50), f.getValueAtPercentile(99));
        System.exit(0);
    }
}
