package dev.tollgate.pricing;

/** A price file ({@code pricing.file}) that cannot be used; the message names the file and the problem. */
public final class PriceFileException extends Exception {
    public PriceFileException(String message) {
        super(message);
    }
}
