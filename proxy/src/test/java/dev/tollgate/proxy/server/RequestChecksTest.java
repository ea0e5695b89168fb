package dev.tollgate.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The per-call checks of an agent's request written by hand for speed (ids, dot segments) agree with
 * their plain definitions, a regular expression and a split, on every string tried: the documented
 * examples, edge lengths and many random strings drawn from the characters that matter.
 */
class RequestChecksTest {

    private static final Pattern AGENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}");
    private static final Pattern INTENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:@/-]{0,255}");
    private static final String ID_CHARACTERS = "aZ09._:@/-+ \u00e9\u0000%\\~";
    private static final String PATH_CHARACTERS = "./a\\";

    @Test
    void idsAreCheckedAsTheirDocumentedPattern() {
        assertThat(RequestIds.isValidAgent("research-bot")).isTrue();
        assertThat(RequestIds.isValidAgent("team/agent@host:7.v1_x")).isTrue();
        assertThat(RequestIds.isValidAgent("a".repeat(128))).isTrue();
        assertThat(RequestIds.isValidAgent("a".repeat(129))).isFalse();
        assertThat(RequestIds.isValidIntent("a".repeat(256))).isTrue();
        assertThat(RequestIds.isValidIntent("a".repeat(257))).isFalse();
        assertThat(RequestIds.isValidAgent("")).isFalse();
        assertThat(RequestIds.isValidAgent("-leading-dash")).isFalse();
        assertThat(RequestIds.isValidAgent("sp ace")).isFalse();
        assertThat(RequestIds.isValidAgent("caf\u00e9")).isFalse();

        Random random = new Random(42);
        for (int i = 0; i < 50_000; i++) {
            String id = randomString(random, ID_CHARACTERS, random.nextInt(300));
            assertThat(RequestIds.isValidAgent(id)).as("agent %s", id).isEqualTo(AGENT.matcher(id).matches());
            assertThat(RequestIds.isValidIntent(id)).as("intent %s", id).isEqualTo(INTENT.matcher(id).matches());
        }
    }

    @Test
    void dotSegmentsAreFoundAsASplitFindsThem() {
        assertThat(AgentConnectionHandler.hasDotSegment("/v1/../admin")).isTrue();
        assertThat(AgentConnectionHandler.hasDotSegment("/v1/%2e%2e/admin")).isTrue();
        assertThat(AgentConnectionHandler.hasDotSegment("/./v1")).isTrue();
        assertThat(AgentConnectionHandler.hasDotSegment("/v1/..")).isTrue();
        assertThat(AgentConnectionHandler.hasDotSegment("/v1\\..\\admin")).isTrue();
        assertThat(AgentConnectionHandler.hasDotSegment("/v1/chat/completions")).isFalse();
        assertThat(AgentConnectionHandler.hasDotSegment("/v1/.../x/.hidden/x..")).isFalse();

        Random random = new Random(7);
        for (int i = 0; i < 50_000; i++) {
            String path = "/" + randomString(random, PATH_CHARACTERS, random.nextInt(12));
            assertThat(AgentConnectionHandler.hasDotSegment(path)).as("path %s", path).isEqualTo(bySplit(path));
        }
    }

    private static boolean bySplit(String path) {
        for (String segment : path.split("/", -1)) {
            if (segment.equals(".") || segment.equals("..")) {
                return true;
            }
        }
        return path.indexOf('\\') >= 0;
    }

    private static String randomString(Random random, String characters, int length) {
        StringBuilder s = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            s.append(characters.charAt(random.nextInt(characters.length())));
        }
        return s.toString();
    }
}
