package dev.tollgate.proxy.cli;

import dev.tollgate.config.ConfigException;
import io.netty.channel.unix.Errors;
import java.net.BindException;

/** Turns a failure into the one line a user reads: what went wrong, not which class threw. */
final class UserErrors {

    private UserErrors() {
    }

    static String describe(Throwable e) {
        if (e instanceof dev.tollgate.pricing.PriceFileException prices) {
            return "bad price file: " + prices.getMessage();
        }
        if (e instanceof ConfigException config) {
            return "bad config:\n  " + String.join("\n  ", config.problems());
        }
        if (e instanceof BindException || e instanceof Errors.NativeIoException && String.valueOf(e.getMessage()).contains("bind")) {
            return "cannot listen: " + e.getMessage() + " (is another process using the port?)";
        }
        String message = e.getMessage();
        return message == null ? e.getClass().getSimpleName() : message;
    }
}
