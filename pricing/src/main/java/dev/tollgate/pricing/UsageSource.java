package dev.tollgate.pricing;

/** Where a call's token counts came from (the ledger's {@code usage_source}). */
public enum UsageSource {
    /** The provider reported them in the response. */
    REPORTED,
    /** Tollgate counted them with the model's tokenizer, because the provider reported none. */
    COUNTED,
    /** Not a metered call (an endpoint without tokens, or a refused or failed call). */
    NONE;

    /** Worked out once: the ledger asks for it on every call it records. */
    private final String ledgerName = name().toLowerCase(java.util.Locale.ROOT);

    /** The name stored in the ledger. */
    public String ledgerName() {
        return ledgerName;
    }
}
