package dev.tollgate.proxy.server;

import java.util.regex.Pattern;

/**
 * The character set of agent and intent ids. They end up in the ledger, in metrics labels, in log lines
 * and on the dashboard, so they are kept to printable, unambiguous characters: letters, digits and
 * {@code . _ - : @ /}, starting with a letter or digit; agents up to 128 characters, intents up to 256.
 */
final class RequestIds {

    static final int MAX_AGENT_LENGTH = 128;
    static final int MAX_INTENT_LENGTH = 256;
    private static final Pattern AGENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:@/-]{0," + (MAX_AGENT_LENGTH - 1) + "}");
    private static final Pattern INTENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:@/-]{0," + (MAX_INTENT_LENGTH - 1) + "}");

    private RequestIds() {
    }

    static boolean isValidAgent(String id) {
        return AGENT.matcher(id).matches();
    }

    static boolean isValidIntent(String id) {
        return INTENT.matcher(id).matches();
    }
}
