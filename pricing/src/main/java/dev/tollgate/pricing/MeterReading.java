package dev.tollgate.pricing;

/**
 * What a response told about its cost: the model that answered, the usage the provider reported (null
 * when it reported none), and the text generated so far, for counting when usage is missing.
 */
public record MeterReading(String model, Usage reportedUsage, String generatedText) {
}
