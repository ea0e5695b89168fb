package dev.tollgate.proxy.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RecentIntentsTest {

    @Test
    void theMedianLeavesOutTheIntentJustCharged() {
        RecentIntents intents = new RecentIntents(100);
        for (int i = 1; i <= 5; i++) {
            intents.add("task-" + i, i * 10L);  // 10, 20, 30, 40, 50
        }
        long big = intents.add("task-big", 1_000);

        assertThat(intents.medianOfOthers(big, 5)).as("the upper middle of 10..50 is 30").isEqualTo(30);
        assertThat(intents.medianOfOthers(intents.add("task-1", 0), 5))
                .as("others of task-1 are 20, 30, 40, 50, 1000: the middle is 40").isEqualTo(40);
        assertThat(intents.medianOfOthers(10, 6)).as("fewer others than asked for").isEqualTo(-1);
    }

    @Test
    void theLeastRecentlyChargedIntentIsDroppedPastTheCapacity() {
        RecentIntents intents = new RecentIntents(3);
        intents.add("a", 1);
        intents.add("b", 2);
        intents.add("c", 3);
        intents.add("a", 100);   // a is now the most recent: b is the eldest
        intents.add("d", 4);     // pushes b out

        assertThat(intents.size()).isEqualTo(3);
        assertThat(intents.add("b", 0)).as("b starts again from nothing").isZero();
        assertThat(intents.size()).as("and c went, the eldest then").isEqualTo(3);
        assertThat(intents.medianOfOthers(0, 2)).as("the others are d (4) and a (101)").isEqualTo(101);
    }

    /** Random charges, checked after each against the obvious way: copy the others' totals and sort them. */
    @Test
    void agreesWithSortingTheOthersOnEveryCall() {
        Random random = new Random(20261207);
        for (int capacity : new int[] {1, 2, 7, 100}) {
            RecentIntents intents = new RecentIntents(capacity);
            LinkedHashMap<String, Long> model = new LinkedHashMap<>(16, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
                    return size() > capacity;
                }
            };
            for (int call = 0; call < 20_000; call++) {
                String intent = "task-" + random.nextInt(capacity * 2 + 3);
                // Small costs, so that totals often tie; sometimes nothing (a refused or free call).
                long cost = random.nextInt(4) == 0 ? 0 : random.nextInt(50);

                long total = intents.add(intent, cost);
                long expectedTotal = model.merge(intent, cost, Long::sum);
                assertThat(total).isEqualTo(expectedTotal);
                assertThat(intents.size()).isEqualTo(model.size());
                List<Long> others = new ArrayList<>();
                model.forEach((name, value) -> {
                    if (!name.equals(intent)) {
                        others.add(value);
                    }
                });
                others.sort(Long::compare);
                int min = 1 + random.nextInt(5);
                long expected = others.size() >= min ? others.get(others.size() / 2) : -1;
                assertThat(intents.medianOfOthers(total, min)).as("call %d, capacity %d", call, capacity).isEqualTo(expected);
            }
        }
    }

    @Test
    void aCapacityBelowOneIsRefused() {
        assertThatThrownBy(() -> new RecentIntents(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
