package dev.tollgate.pricing;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Reads one stream event's JSON object into a {@link UsageCollector} several times faster than a Jackson
 * parser, for the event loop's sake: a 20-event stream was parsed 20 times per call, which was most of the
 * metering cost of a streamed call (docs/BENCHMARKS.md).
 *
 * <p>It also reads whole plain response bodies, which providers pretty-print, for {@link JsonBodyMeter}:
 * built with {@code lineBreaks}, it takes line breaks between tokens as JSON does.
 *
 * <p>It is exact by construction, not by approximation. It accepts only a strict subset of JSON: one
 * object on one line (unless built to take line breaks), nested at most {@value #MAX_DEPTH} deep, with
 * ASCII keys without escapes, integers of at most {@value #MAX_INT_DIGITS} digits, numbers and keys of
 * bounded length, and strings of well-formed UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF). Every such document is one that Jackson
 * reads without error, and the scanner hands the collector the same events in the same order (keys it
 * does not know arrive as one placeholder the collector never matches). On anything else (malformed
 * JSON, a second value after the object, a key with an escape, an oversized number) it {@linkplain #scan
 * declines}: the collector is rolled back to where it was and the caller reads the event with Jackson.
 * The fuzz targets compare the two readers on arbitrary input.
 */
final class EventJsonScanner {

    /** The collector keeps keys this deep; a deeper document is left to Jackson. */
    static final int MAX_DEPTH = 32;
    /** Longer integers may not fit a long; Jackson then fails the parse part way, which is its to reproduce. */
    static final int MAX_INT_DIGITS = 18;
    /** Far below Jackson's own limits on names (50,000) and numbers (1,000 characters). */
    private static final int MAX_KEY_BYTES = 256;
    private static final int MAX_NUMBER_CHARS = 100;

    /** Stands for every key the collector has no use for. */
    private static final String OTHER_KEY = "\u0000other";
    private static final KeyTable KEYS = new KeyTable(UsageCollector.KEYS);
    /** The collector's own String, so that a key read here can be told by identity. */
    private static final String USAGE = known("usage");
    private static final String MODEL = known("model");
    private static final String TYPE = known("type");
    /** {@code "usage":} */
    private static final int USAGE_NULL_KEY_LENGTH = 8;
    /** The longest run of top-level members remembered from one event for the next ({@link Prefix}). */
    static final int MAX_PREFIX_BYTES = 1024;

    private static final long QUOTES = ByteWords.repeated('"');
    private static final long BACKSLASHES = ByteWords.repeated('\\');
    private static final long SPACES = ByteWords.repeated(' ');

    /** Thrown to unwind when the input is outside the accepted subset; no stack trace, so it costs little. */
    private static final RuntimeException DECLINED = new RuntimeException("declined", null, false, false) { };

    private final UsageCollector collector;
    private final boolean lineBreaks;
    private final StringBuilder decoded = new StringBuilder();
    private byte[] bytes;
    private int pos;
    private int end;
    private int depth;
    private int usageNullAt;
    /** What the last event began with; null for a reader of plain bodies, which reads one document a call. */
    private final Prefix prefix;

    /** A reader of one-line documents, a stream event's: a line break anywhere is declined. */
    EventJsonScanner(UsageCollector collector) {
        this(collector, false);
    }

    /**
     * @param lineBreaks whether line breaks may stand between tokens, as in a plain response body, which
     *     providers pretty-print; a stream event's reader declines them, so that what it read is one line
     */
    EventJsonScanner(UsageCollector collector, boolean lineBreaks) {
        this.collector = collector;
        this.lineBreaks = lineBreaks;
        this.prefix = lineBreaks ? null : new Prefix();
    }

    /**
     * Reads {@code bytes[from, to)}, which must hold one object and nothing but spaces after it, into the
     * collector. True when read; false when declined, with the collector as it was before the call (the
     * document state reset).
     */
    boolean scan(byte[] source, int from, int to) {
        int after = read(source, from, to);
        if (after == to) {
            return true;
        }
        if (after >= 0) {
            rollBack(); // read a whole object, but something follows it
        }
        return false;
    }

    /**
     * Reads the object that starts at {@code from} into the collector and returns the index past it and
     * the spaces after it, where the caller decides whether what follows is the end of the document; or,
     * declined, -1 with the collector rolled back. A caller that does not like what follows calls
     * {@link #rollBack()}.
     */
    int read(byte[] source, int from, int to) {
        collector.mark();
        bytes = source;
        pos = from;
        end = to;
        depth = 0;
        usageNullAt = -1;
        try {
            skipSpaces();
            if (peek() != '{') {
                throw DECLINED;
            }
            if (prefix != null) {
                topLevelObject();
            } else {
                object();
            }
            skipSpaces();
            return pos;
        } catch (RuntimeException declined) {
            collector.rollBack();
            return -1;
        } finally {
            bytes = null;
            if (decoded.capacity() > 4096) {
                decoded.setLength(0);
                decoded.trimToSize();
            }
        }
    }

    /**
     * Where the first {@code "usage":null} of the object the last {@link #read} accepted starts, or -1. In
     * such an object those bytes can only be a {@code usage} member set to null (a string cannot hold a bare
     * quote, a value cannot be followed by a colon, and keys with escapes are declined), so this is where
     * a byte search would find them.
     */
    int usageNullAt() {
        return usageNullAt;
    }

    private boolean startsWithNull() {
        return pos + 4 <= end && bytes[pos] == 'n' && bytes[pos + 1] == 'u' && bytes[pos + 2] == 'l' && bytes[pos + 3] == 'l';
    }

    /** How many top-level members the next event may skip if it begins with them (for tests). */
    int rememberedMembers() {
        return prefix == null ? 0 : prefix.members;
    }

    /** Undoes the last {@link #read}. */
    void rollBack() {
        collector.rollBack();
    }

    private void value() {
        skipSpaces();
        switch (peek()) {
            case '{' -> object();
            case '[' -> array();
            case '"' -> string();
            case 't' -> literal("true");
            case 'f' -> literal("false");
            case 'n' -> literal("null");
            default -> number();
        }
    }

    private void object() {
        pos++;
        enter(false);
        if (closesAtOnce()) {
            return;
        }
        while (true) {
            member();
            if (endOfMembers()) {
                return;
            }
        }
    }

    /**
     * An event's object, read from the end of the longest run of members it shares with the {@link Prefix}
     * of the events before it, and remembering its own. A stream's chunks repeat their id, object, created,
     * model, service tier and fingerprint, about half of each chunk's bytes and keys: they are read once a
     * stream instead of once an event.
     */
    private void topLevelObject() {
        int from = pos;
        int shared = prefix.membersMatching(bytes, from, end);
        pos++;
        enter(false);
        String model = null;
        String type = null;
        if (shared > 0) {
            // The same bytes as members already read: the same effects on the collector, which at the top
            // level of such members are only these two values.
            pos = from + prefix.end(shared);
            model = prefix.model(shared);
            type = prefix.type(shared);
            if (model != null) {
                collector.onString(UsageCollector.MODEL, model);
            }
            if (type != null) {
                collector.onString(UsageCollector.EVENT_TYPE, type);
            }
        } else if (closesAtOnce()) {
            return;
        }
        boolean remembering = prefix.worthExtending(shared);
        int members = shared;
        while (true) {
            String key = member();
            if (remembering) {
                boolean string = bytes[pos - 1] == '"';
                if (key == MODEL && string) {
                    model = collector.model;
                } else if (key == TYPE && string) {
                    type = collector.eventType;
                } else if (key != OTHER_KEY || bytes[pos - 1] == '}' || bytes[pos - 1] == ']') {
                    remembering = false;
                }
            }
            if (endOfMembers()) {
                return;
            }
            remembering &= members < Prefix.MAX_MEMBERS && pos - from <= MAX_PREFIX_BYTES;
            if (remembering) {
                prefix.remember(++members, bytes, from, pos, model, type);
            }
        }
    }

    /** Just past an object's opening brace: true, past its closing brace too, when it has no members. */
    private boolean closesAtOnce() {
        skipSpaces();
        if (peek() != '}') {
            return false;
        }
        pos++;
        leave();
        return true;
    }

    /** One member of an object, from the spaces before its key to the end of its value; returns its key. */
    private String member() {
        skipSpaces();
        int keyAt = pos;
        expect('"');
        String key = key();
        skipSpaces();
        expect(':');
        if (key == USAGE && usageNullAt < 0 && pos == keyAt + USAGE_NULL_KEY_LENGTH && startsWithNull()) {
            usageNullAt = keyAt;
        }
        collector.onField(key);
        value();
        return key;
    }

    /** After a member: true past the object's closing brace, false past the comma before another member. */
    private boolean endOfMembers() {
        skipSpaces();
        byte next = next();
        if (next == '}') {
            leave();
            return true;
        }
        if (next != ',') {
            throw DECLINED;
        }
        return false;
    }

    private void array() {
        pos++;
        enter(true);
        skipSpaces();
        if (peek() == ']') {
            pos++;
            leave();
            return;
        }
        while (true) {
            value();
            skipSpaces();
            byte next = next();
            if (next == ']') {
                leave();
                return;
            }
            if (next != ',') {
                throw DECLINED;
            }
        }
    }

    private void enter(boolean array) {
        if (++depth > MAX_DEPTH) {
            throw DECLINED;
        }
        collector.onStart(array);
    }

    private void leave() {
        depth--;
        collector.onEnd();
    }

    /** A key, just past its opening quote: the collector's own String for a key it knows, else the placeholder. */
    private String key() {
        int from = pos;
        skipPlainBytes();
        while (true) {
            byte b = next();
            if (b == '"') {
                break;
            }
            if (b < 0x20 || b == '\\') {
                // Control characters, escapes and non-ASCII (negative bytes) are Jackson's to read.
                throw DECLINED;
            }
        }
        int length = pos - 1 - from;
        if (length > MAX_KEY_BYTES) {
            throw DECLINED;
        }
        String known = KEYS.find(bytes, from, length);
        return known != null ? known : OTHER_KEY;
    }

    private void string() {
        int wanted = collector.wantedString();
        pos++;
        if (wanted == UsageCollector.NOT_WANTED) {
            skipString();
        } else {
            collector.onString(wanted, readString());
        }
    }

    private void skipString() {
        while (true) {
            skipPlainBytes();
            byte b = next();
            if (b == '"') {
                return;
            }
            if (b == '\\') {
                escape();
            } else if (b < 0) {
                codePoint(b);
            } else if (b < 0x20) {
                throw DECLINED;
            }
        }
    }

    /**
     * Moves past whole 8-byte words of a string that hold nothing to look at (no quote, backslash, control
     * character or non-ASCII byte), testing all eight bytes at once: ids, fingerprints and names are most
     * of an event's bytes and are only skipped.
     */
    private void skipPlainBytes() {
        // In locals, not the fields, so that the loop keeps them in registers (docs/BENCHMARKS.md).
        byte[] source = bytes;
        int at = pos;
        int last = end - Long.BYTES;
        while (at <= last) {
            long word = ByteWords.word(source, at);
            // A quote, a backslash, a byte below 0x20 (the same borrow test as a zero byte), or a high bit.
            long special = ByteWords.zeroBytes(word ^ QUOTES) | ByteWords.zeroBytes(word ^ BACKSLASHES)
                    | (word - SPACES) & ~word & ByteWords.HIGH_BITS | word & ByteWords.HIGH_BITS;
            if (special != 0) {
                // The lowest flag of each test is exact (only bytes above a true one can be flagged falsely),
                // so the lowest of them all is the first byte to look at: move straight to it.
                at += Long.numberOfTrailingZeros(special) >>> 3;
                break;
            }
            at += Long.BYTES;
        }
        pos = at;
    }

    /** The string from just past its opening quote; plain ASCII is copied at once, the rest decoded. */
    private String readString() {
        int from = pos;
        skipPlainBytes();
        while (true) {
            byte b = next();
            if (b == '"') {
                return new String(bytes, from, pos - 1 - from, StandardCharsets.ISO_8859_1);
            }
            if (b < 0x20 || b == '\\') {
                break;
            }
        }
        pos--;
        decoded.setLength(0);
        decoded.append(new String(bytes, from, pos - from, StandardCharsets.ISO_8859_1));
        while (true) {
            byte b = next();
            if (b == '"') {
                return decoded.toString();
            }
            if (b == '\\') {
                decoded.append(escape());
            } else if (b < 0) {
                decoded.appendCodePoint(codePoint(b));
            } else if (b < 0x20) {
                throw DECLINED;
            } else {
                decoded.append((char) b);
            }
        }
    }

    /** The character an escape stands for, just past its backslash; {@code \\uXXXX} as one char, as Jackson reads it. */
    private char escape() {
        byte b = next();
        switch (b) {
            case '"', '\\', '/' -> {
                return (char) b;
            }
            case 'b' -> {
                return '\b';
            }
            case 'f' -> {
                return '\f';
            }
            case 'n' -> {
                return '\n';
            }
            case 'r' -> {
                return '\r';
            }
            case 't' -> {
                return '\t';
            }
            case 'u' -> {
                int value = 0;
                for (int i = 0; i < 4; i++) {
                    value = value << 4 | hexDigit(next());
                }
                return (char) value;
            }
            default -> throw DECLINED;
        }
    }

    private static int hexDigit(byte b) {
        if (b >= '0' && b <= '9') {
            return b - '0';
        }
        if (b >= 'a' && b <= 'f') {
            return b - 'a' + 10;
        }
        if (b >= 'A' && b <= 'F') {
            return b - 'A' + 10;
        }
        throw DECLINED;
    }

    /** A well-formed UTF-8 sequence (RFC 3629) from its lead byte; anything else is declined. */
    private int codePoint(byte lead) {
        int b0 = lead & 0xFF;
        if (b0 >= 0xC2 && b0 <= 0xDF) {
            return (b0 & 0x1F) << 6 | continuation(0x80, 0xBF);
        }
        if (b0 >= 0xE0 && b0 <= 0xEF) {
            int low = b0 == 0xE0 ? 0xA0 : 0x80;
            int high = b0 == 0xED ? 0x9F : 0xBF;
            int b1 = continuation(low, high);
            return (b0 & 0x0F) << 12 | b1 << 6 | continuation(0x80, 0xBF);
        }
        if (b0 >= 0xF0 && b0 <= 0xF4) {
            int low = b0 == 0xF0 ? 0x90 : 0x80;
            int high = b0 == 0xF4 ? 0x8F : 0xBF;
            int b1 = continuation(low, high);
            int b2 = continuation(0x80, 0xBF);
            return (b0 & 0x07) << 18 | b1 << 12 | b2 << 6 | continuation(0x80, 0xBF);
        }
        throw DECLINED;
    }

    /** The low six bits of the next byte, which must lie in [low, high]. */
    private int continuation(int low, int high) {
        int b = next() & 0xFF;
        if (b < low || b > high) {
            throw DECLINED;
        }
        return b & 0x3F;
    }

    private void literal(String word) {
        for (int i = 0; i < word.length(); i++) {
            if (next() != word.charAt(i)) {
                throw DECLINED;
            }
        }
    }

    /** A number by JSON's grammar; integers go to the collector, as Jackson's VALUE_NUMBER_INT would. */
    private void number() {
        int from = pos;
        boolean negative = peek() == '-';
        if (negative) {
            pos++;
        }
        int digitsFrom = pos;
        if (peek() == '0') {
            pos++;
        } else {
            digits();
        }
        int digitsTo = pos;
        boolean integer = true;
        if (pos < end && bytes[pos] == '.') {
            pos++;
            digits();
            integer = false;
        }
        if (pos < end && (bytes[pos] == 'e' || bytes[pos] == 'E')) {
            pos++;
            if (peek() == '+' || peek() == '-') {
                pos++;
            }
            digits();
            integer = false;
        }
        if (pos - from > MAX_NUMBER_CHARS) {
            throw DECLINED;
        }
        if (integer) {
            if (digitsTo - digitsFrom > MAX_INT_DIGITS) {
                throw DECLINED;
            }
            long value = 0;
            for (int i = digitsFrom; i < digitsTo; i++) {
                value = value * 10 + (bytes[i] - '0');
            }
            collector.onNumber(negative ? -value : value);
        }
    }

    /** One or more decimal digits. */
    private void digits() {
        byte first = peek();
        if (first < '0' || first > '9') {
            throw DECLINED;
        }
        do {
            pos++;
        } while (pos < end && bytes[pos] >= '0' && bytes[pos] <= '9');
    }

    /**
     * Spaces and tabs, and line breaks when this reader takes them. JSON allows line breaks between
     * tokens, but an event read without them holds none, so its caller knows it is one line; the rare
     * event that spreads its JSON over lines goes to Jackson.
     */
    private void skipSpaces() {
        while (pos < end) {
            byte b = bytes[pos];
            if (b != ' ' && b != '\t' && (!lineBreaks || b != '\n' && b != '\r')) {
                return;
            }
            pos++;
        }
    }

    private void expect(char c) {
        if (next() != c) {
            throw DECLINED;
        }
    }

    private byte peek() {
        if (pos >= end) {
            throw DECLINED;
        }
        return bytes[pos];
    }

    private byte next() {
        if (pos >= end) {
            throw DECLINED;
        }
        return bytes[pos++];
    }

    private static String known(String key) {
        return KEYS.find(key.getBytes(StandardCharsets.US_ASCII), 0, key.length());
    }

    /**
     * The top-level members the events of a stream began with, each up to the comma after it, as long as
     * each only skipped a scalar value (an unknown key's scalar reaches no field of the collector) or set the
     * model or the event type: as bytes, and as the two values set by the end of each member. Reading
     * the same bytes again would hand the collector the same two values and nothing else and leave the
     * reader between two members of the top-level object, so an event that begins with the same members is
     * read from there. Every remembered member was read and accepted after the same members before it
     * (those bytes do not depend on what follows them), so it is as valid as when it was read.
     */
    private static final class Prefix {
        static final int MAX_MEMBERS = 16;
        private byte[] bytes = new byte[0];
        /** {@code ends[i]}: the length of the first {@code i} members (with their commas); {@code ends[0]} is 0. */
        private final int[] ends = new int[MAX_MEMBERS + 1];
        private final String[] models = new String[MAX_MEMBERS + 1];
        private final String[] types = new String[MAX_MEMBERS + 1];
        private int members;
        /** Where the last event's members stopped matching, or -1 if they all did. */
        private int differedAt = -1;

        /**
         * Whether to remember the members of an event that shares {@code shared} with this prefix. Not when the
         * event before it stopped matching at the same member: that member varies from event to event (a
         * sequence number), and copying it again would cost every event and save none. A member that changed
         * once is remembered again, so a stream whose first event differs from the rest still gains.
         */
        boolean worthExtending(int shared) {
            boolean partial = shared < members;
            boolean again = partial && shared == differedAt;
            differedAt = partial ? shared : -1;
            return !again;
        }

        /** How many of the remembered members an object at {@code source[from]} begins with, byte for byte. */
        int membersMatching(byte[] source, int from, int to) {
            if (members == 0) {
                return 0;
            }
            int length = Math.min(ends[members], to - from);
            int differs = Arrays.mismatch(source, from, from + length, bytes, 0, length);
            int same = differs < 0 ? length : differs;
            int matching = members;
            while (ends[matching] > same) {
                matching--;
            }
            return matching;
        }

        int end(int member) {
            return ends[member];
        }

        String model(int member) {
            return models[member];
        }

        String type(int member) {
            return types[member];
        }

        /** Member {@code member} (from 1) ends at {@code source[to]}; the ones after it are forgotten. */
        void remember(int member, byte[] source, int from, int to, String model, String type) {
            int start = ends[member - 1];
            int length = to - from;
            if (bytes.length < length) {
                bytes = Arrays.copyOf(bytes, Math.min(MAX_PREFIX_BYTES, Math.max(length, 2 * bytes.length)));
            }
            System.arraycopy(source, from + start, bytes, start, length - start);
            ends[member] = length;
            models[member] = model;
            types[member] = type;
            members = member;
        }
    }

    /**
     * The keys the collector asks about, in an open-addressed table indexed by a key's length and its
     * first and last bytes (cheap to take, and enough to tell these keys apart), then compared byte for byte.
     */
    private static final class KeyTable {
        private final byte[][] names;
        private final String[] strings;
        private final int mask;

        KeyTable(String[] keys) {
            int size = Integer.highestOneBit(keys.length * 4 - 1) << 1;
            names = new byte[size][];
            strings = new String[size];
            mask = size - 1;
            for (String key : keys) {
                byte[] name = key.getBytes(StandardCharsets.US_ASCII);
                int slot = slot(name, 0, name.length);
                while (strings[slot] != null) {
                    slot = (slot + 1) & mask;
                }
                names[slot] = name;
                strings[slot] = key;
            }
        }

        private int slot(byte[] source, int from, int length) {
            int hash = length == 0 ? 0 : length * 961 + source[from] * 31 + source[from + length - 1];
            return (hash ^ hash >>> 7) & mask;
        }

        String find(byte[] source, int from, int length) {
            for (int slot = slot(source, from, length); strings[slot] != null; slot = (slot + 1) & mask) {
                byte[] name = names[slot];
                if (name.length == length && Arrays.equals(name, 0, length, source, from, from + length)) {
                    return strings[slot];
                }
            }
            return null;
        }
    }
}
