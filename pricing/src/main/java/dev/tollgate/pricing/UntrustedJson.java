package dev.tollgate.pricing;

import com.fasterxml.jackson.core.JsonFactory;

/**
 * The Jackson factory for bytes nobody checked: response bodies from the provider. It does not canonicalise
 * field names, so that what a body reads as depends on its bytes alone, not on what the process read before.
 *
 * <p>Jackson's shared symbol table looks names up by their UTF-8 bytes packed four to an int, the last int
 * padded with {@code 0xFF} bytes. A key whose bytes really end in {@code 0xFF} and a few letters, which is
 * invalid UTF-8 ({@code cont\xFFent}, say), packs to the same ints as a shorter, valid key ({@code content}).
 * When the valid key is in the table, the invalid one is taken for it and the parse goes on; when it is not
 * (a fresh process, or a table that grew past its limit and was emptied), the parse fails at that byte. So
 * the same malformed response could be metered one way now and another a minute later (a fuzz finding of
 * {@code JsonBodyMeterFuzzTest}, input {@code invalid-utf8-key-like-a-known-one.json}). Without the table,
 * every name is decoded from its own bytes, the same every time.
 *
 * <p>The cost is a {@code String} per field name, paid only where Jackson reads a response at all: the
 * response meters read the common bodies with {@link EventJsonScanner}. Request bodies keep the default
 * factory, whose table is exact on valid UTF-8 (0xFF never occurs in it): the proxy refuses a request body
 * of invalid UTF-8 before anything reads it, and the table saves about 0.5 µs a request in
 * {@link RequestFacts} and 1.5 µs in the loop fingerprint (JMH, 2026-12-06).
 */
final class UntrustedJson {

    /** Thread-safe, as every {@link JsonFactory} is once built. */
    static final JsonFactory FACTORY = JsonFactory.builder()
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .build();

    private UntrustedJson() {
    }
}
