package dev.tollgate.storage;

/** One row of the {@code events} table: an alert, a block, a pause, a loop... with its detail as JSON text. */
public record EventRow(long tsMs, String agent, String intent, String kind, String detailJson) {
}
