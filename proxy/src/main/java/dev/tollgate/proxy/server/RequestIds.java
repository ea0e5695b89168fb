package dev.tollgate.proxy.server;

/**
 * The character set of agent and intent ids. They end up in the ledger, in metrics labels, in log lines
 * and on the dashboard, so they are kept to printable, unambiguous characters: letters, digits and
 * {@code . _ - : @ /}, starting with a letter or digit; agents up to 128 characters, intents up to 256.
 */
final class RequestIds {

    static final int MAX_AGENT_LENGTH = 128;
    static final int MAX_INTENT_LENGTH = 256;

    private RequestIds() {
    }

    static boolean isValidAgent(String id) {
        return isValid(id, MAX_AGENT_LENGTH);
    }

    static boolean isValidIntent(String id) {
        return isValid(id, MAX_INTENT_LENGTH);
    }

    /**
     * {@code [A-Za-z0-9][A-Za-z0-9._:@/-]*} of at most {@code maxLength} characters, checked by hand since it
     * runs on every call: a regular expression's matcher cost more than the rest of admission's checks.
     */
    private static boolean isValid(String id, int maxLength) {
        int length = id.length();
        if (length == 0 || length > maxLength || !isLetterOrDigit(id.charAt(0))) {
            return false;
        }
        for (int i = 1; i < length; i++) {
            char c = id.charAt(i);
            if (!isLetterOrDigit(c) && c != '.' && c != '_' && c != ':' && c != '@' && c != '/' && c != '-') {
                return false;
            }
        }
        return true;
    }

    private static boolean isLetterOrDigit(char c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9';
    }
}
