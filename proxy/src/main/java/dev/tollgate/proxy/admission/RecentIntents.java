package dev.tollgate.proxy.admission;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The cost totals of an agent's most recently charged intents, for the spike check of {@link SpendWatch}:
 * an intent whose total passes ten times the median of the others is an anomaly.
 *
 * <p>The check runs on every settled call of an agent that names its intents, on an event loop and under
 * the budgets' lock, so the median must not cost a sort. Beside the map (least recently charged first, the
 * eldest dropped past the capacity) the totals are kept in a sorted array: charging an intent moves one
 * value within it, and the median of the others is read at an index, whichever intent is left out.
 * Guarded by the {@link Budgets} lock.
 */
final class RecentIntents {

    private final int capacity;
    /** Access order: charging an intent makes it the most recent. The arrays are its total, changed in place. */
    private final LinkedHashMap<String, long[]> totals;
    /** Every total in {@link #totals}, ascending; one more slot for the moment a new intent pushes out the eldest. */
    private final long[] sorted;
    private int size;

    RecentIntents(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1: " + capacity);
        }
        this.capacity = capacity;
        this.sorted = new long[capacity + 1];
        this.totals = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, long[]> eldest) {
                if (size() <= RecentIntents.this.capacity) {
                    return false;
                }
                removeSorted(eldest.getValue()[0]);
                return true;
            }
        };
    }

    /** Charges {@code cost} to {@code intent}, which becomes the most recent; returns the intent's total. */
    long add(String intent, long cost) {
        long[] total = totals.get(intent);
        if (total != null) {
            removeSorted(total[0]);
            total[0] += cost;
            insertSorted(total[0]);
            return total[0];
        }
        insertSorted(cost);
        totals.put(intent, new long[] {cost});
        return cost;
    }

    /**
     * The median of the totals of every recent intent but one whose total is {@code own} (the upper of the two
     * middle ones when the others are even in number), or -1 when there are fewer than {@code minOthers} others.
     * Which of several intents with the total {@code own} is left out makes no difference to the answer.
     */
    long medianOfOthers(long own, int minOthers) {
        int others = size - 1;
        int at = Arrays.binarySearch(sorted, 0, size, own);
        if (others < minOthers || at < 0) {
            return -1;
        }
        int middle = others / 2;
        // The others, in order, are the sorted totals with the one at `at` taken out.
        return sorted[middle < at ? middle : middle + 1];
    }

    int size() {
        return size;
    }

    private void insertSorted(long value) {
        int at = Arrays.binarySearch(sorted, 0, size, value);
        if (at < 0) {
            at = -at - 1;
        }
        System.arraycopy(sorted, at, sorted, at + 1, size - at);
        sorted[at] = value;
        size++;
    }

    private void removeSorted(long value) {
        int at = Arrays.binarySearch(sorted, 0, size, value);
        if (at < 0) {
            throw new IllegalStateException("a recent intent's total is missing from the sorted totals: " + value);
        }
        System.arraycopy(sorted, at + 1, sorted, at, size - at - 1);
        size--;
    }
}
