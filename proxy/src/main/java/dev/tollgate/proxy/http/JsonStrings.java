package dev.tollgate.proxy.http;

import com.fasterxml.jackson.core.io.JsonStringEncoder;

/** JSON string literals for the small JSON texts Tollgate writes by hand (event details). */
public final class JsonStrings {

    private JsonStrings() {
    }

    /** {@code value} as a quoted, escaped JSON string. */
    public static String quote(String value) {
        return "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(value)) + "\"";
    }
}
