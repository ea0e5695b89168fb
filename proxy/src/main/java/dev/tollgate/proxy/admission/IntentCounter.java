package dev.tollgate.proxy.admission;

/** An intent's lifetime spend and calls, and what its calls in flight have reserved. Guarded by {@link Budgets}. */
final class IntentCounter {
    long costNanos;
    long requests;
    long reservedCost;
}
