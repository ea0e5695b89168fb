package dev.tollgate.pricing;

/**
 * How a model name resolved: the table entry that prices it, and whether it came from the bundled
 * table or the user's price file.
 *
 * @param requested the name as the request or response gave it
 * @param entry the table key that matched ({@code gpt-4o} for {@code openai/gpt-4o-2024-11-20})
 */
public record PricedModel(String requested, String entry, ModelPrice price, boolean fromPriceFile) {
}
