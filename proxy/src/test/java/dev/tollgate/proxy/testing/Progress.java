package dev.tollgate.proxy.testing;

import java.util.concurrent.atomic.AtomicLong;

/** Watching a counter that another thread advances, such as the bytes a provider managed to send. */
public final class Progress {

    private Progress() {
    }

    /** Waits until {@code counter} is above zero and stops moving for 100 ms (at most 10 s); returns its value. */
    public static long waitUntilStable(AtomicLong counter) throws InterruptedException {
        long last = -1;
        for (int i = 0; i < 100; i++) {
            Thread.sleep(100);
            long now = counter.get();
            if (now == last && now > 0) {
                return now;
            }
            last = now;
        }
        return counter.get();
    }
}
