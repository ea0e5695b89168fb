package dev.tollgate.pricing;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Meters a server-sent event stream: splits the bytes into events as they pass, parses each event's
 * JSON data, and keeps the usage (a chat stream's usage chunk, the Responses API's
 * {@code response.completed}), the model, and the text streamed so far.
 *
 * <p>This runs on the event loop for every event of every stream, so the common event (one
 * {@code data:} line holding a JSON object) is read by {@link EventJsonScanner} in one pass, without
 * splitting lines or searching the bytes again; any event it declines is parsed by Jackson, with the
 * same result.
 *
 * <p>With an {@link EventSink}, it also rewrites the stream for an agent that did not ask for usage while
 * Tollgate asked on its behalf: the usage-only chunk is dropped and the {@code "usage":null} that the
 * provider adds to every other chunk is removed, so the agent receives exactly the stream it asked for.
 * The field is removed only where it stands on a data line as a member of a JSON object
 * ({@code ,"usage":null} or {@code {"usage":null,}), so that an event's JSON stays valid and means what it
 * did, and the event stays one event.
 * Only whole events are passed on; a partial event waits for its end.
 */
public final class SseStreamMeter implements ResponseMeter {

    /** Receives the rewritten stream, a run of bytes at a time; the array is only valid during the call. */
    public interface EventSink {
        void emit(byte[] bytes, int offset, int length);
    }

    /** An event larger than this is not metered; the stream still passes through untouched. */
    static final int MAX_EVENT_BYTES = 1 << 20;
    private static final JsonFactory JSON = UntrustedJson.FACTORY;
    private static final byte[] USAGE_NULL = "\"usage\":null".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final byte[] USAGE_NULL_SKIP = skipTable(USAGE_NULL);
    private static final byte[] DATA = "data:".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** What {@link #readSingleDataLine} made of an event. */
    private static final int TAKEN = 1;
    private static final int OTHER_SHAPE = 0;
    private static final int DECLINED = -1;

    private final UsageCollector collector = new UsageCollector();
    /** Reads nearly every event; Jackson reads the few it declines. Null only in the tests that compare the two. */
    private final EventJsonScanner scanner;
    private final EventSink rewriteTo;
    /**
     * Holds the bytes of the events not yet complete. It starts at 1 KB, which fits a typical chat chunk
     * (200-400 bytes) or Responses event, and grows only when a read brings more: with 10,000 slow streams
     * open, every kilobyte here is 10 MB of heap.
     */
    private byte[] buffer = new byte[1024];
    private int start;
    private int end;
    private int scanFrom;
    private boolean gaveUp;
    /**
     * Where the event's first {@code "usage":null} starts (-1: nowhere) when the scanner read the event as
     * one data line and so already knows; {@link #UNKNOWN} when the bytes must be searched.
     */
    private int usageNullFromScanner;
    private static final int UNKNOWN = -2;

    /** @param rewriteTo where the rewritten stream goes, or null to only observe */
    public SseStreamMeter(EventSink rewriteTo) {
        this(rewriteTo, true);
    }

    /** @param fastScan false to read every event with Jackson (for tests that compare the two readers) */
    SseStreamMeter(EventSink rewriteTo, boolean fastScan) {
        this.rewriteTo = rewriteTo;
        this.scanner = fastScan ? new EventJsonScanner(collector) : null;
    }

    @Override
    public void feed(ByteBuffer piece) {
        ByteBuffer bytes = piece.duplicate();
        if (gaveUp) {
            passThrough(bytes);
            return;
        }
        append(bytes);
        int boundary;
        while ((boundary = nextBoundary()) >= 0) {
            onEvent(start, boundary);
            start = boundary;
            scanFrom = boundary;
        }
        if (end - start > MAX_EVENT_BYTES) {
            // Not an event stream we understand; stop metering, keep the bytes flowing.
            gaveUp = true;
            if (rewriteTo != null) {
                rewriteTo.emit(buffer, start, end - start);
            }
            start = end = scanFrom = 0;
        } else if (start == end) {
            start = end = scanFrom = 0;
        }
    }

    @Override
    public MeterReading finish() {
        if (!gaveUp && end > start) {
            // A stream cut mid-event: the partial event is passed on as it was, but not metered.
            if (rewriteTo != null) {
                rewriteTo.emit(buffer, start, end - start);
            }
            start = end = scanFrom = 0;
        }
        return collector.reading();
    }

    private void passThrough(ByteBuffer bytes) {
        if (rewriteTo != null && bytes.hasRemaining()) {
            byte[] copy = new byte[bytes.remaining()];
            bytes.get(copy);
            rewriteTo.emit(copy, 0, copy.length);
        }
    }

    private void append(ByteBuffer bytes) {
        int n = bytes.remaining();
        if (end + n > buffer.length) {
            if (start > 0) {
                System.arraycopy(buffer, start, buffer, 0, end - start);
                end -= start;
                scanFrom -= start;
                start = 0;
            }
            if (end + n > buffer.length) {
                buffer = Arrays.copyOf(buffer, Math.max(buffer.length * 2, end + n));
            }
        }
        bytes.get(buffer, end, n);
        end += n;
    }

    /** The index just past the next blank line ({@code \n\n} or {@code \n\r\n}), or -1. */
    private int nextBoundary() {
        int i = Math.max(scanFrom, start);
        while ((i = ByteWords.indexOf(buffer, i, end - 1, (byte) '\n')) >= 0) {
            if (buffer[i + 1] == '\n') {
                return i + 2;
            }
            if (buffer[i + 1] == '\r' && i + 2 < end && buffer[i + 2] == '\n') {
                return i + 3;
            }
            i++;
        }
        scanFrom = Math.max(start, end - 2);
        return -1;
    }

    private void onEvent(int from, int to) {
        collector.startDocument();
        usageNullFromScanner = UNKNOWN;
        boolean parsed = parseData(from, to);
        if (rewriteTo == null) {
            return;
        }
        if (parsed && collector.isUsageOnlyChunk()) {
            return;
        }
        int cut = usageNullFromScanner != UNKNOWN ? usageNullFromScanner : indexOfUsageNull(from, to);
        if (cut < 0) {
            rewriteTo.emit(buffer, from, to - from);
            return;
        }
        int lineStart = cut;
        while (lineStart > from && buffer[lineStart - 1] != '\n') {
            lineStart--;
        }
        if (!startsWith(DATA, lineStart, cut)) {
            // Not on a data line: removing it could leave a blank line, which would end the event early.
            rewriteTo.emit(buffer, from, to - from);
            return;
        }
        int cutStart = cut;
        int cutEnd = cut + USAGE_NULL.length;
        int before = skipSpacesBack(cutStart - 1, from);
        int after = skipSpacesForward(cutEnd, to);
        byte previous = before >= from ? buffer[before] : 0;
        byte next = after < to ? buffer[after] : 0;
        if (previous == ',') {
            cutStart = before;
        } else if (previous == '{' && next == ',') {
            cutEnd = after + 1;
        } else if (previous != '{' || next != '}') {
            // Not a member of an object on one line (the end of a key such as "x\"usage", or a field split
            // across data lines): removing it would break the JSON, so the event passes on as it is.
            rewriteTo.emit(buffer, from, to - from);
            return;
        }
        rewriteTo.emit(buffer, from, cutStart - from);
        rewriteTo.emit(buffer, cutEnd, to - cutEnd);
    }

    /** Parses the event's data lines as JSON into the collector; false when there is no JSON to parse. */
    private boolean parseData(int from, int to) {
        int oneLine = scanner != null ? readSingleDataLine(from, to) : OTHER_SHAPE;
        if (oneLine == TAKEN) {
            return true;
        }
        int lineStart = from;
        byte[] joined = null;
        int dataFrom = -1;
        int dataTo = -1;
        while (lineStart < to) {
            int lineEnd = lineStart;
            while (lineEnd < to && buffer[lineEnd] != '\n') {
                lineEnd++;
            }
            int contentEnd = lineEnd > lineStart && buffer[lineEnd - 1] == '\r' ? lineEnd - 1 : lineEnd;
            if (startsWith(DATA, lineStart, contentEnd)) {
                int valueFrom = lineStart + DATA.length;
                if (valueFrom < contentEnd && buffer[valueFrom] == ' ') {
                    valueFrom++;
                }
                if (dataFrom < 0) {
                    dataFrom = valueFrom;
                    dataTo = contentEnd;
                } else {
                    // Several data lines make one payload, joined by newlines (rare; copy only then).
                    byte[] first = joined != null ? joined : Arrays.copyOfRange(buffer, dataFrom, dataTo);
                    joined = Arrays.copyOf(first, first.length + 1 + contentEnd - valueFrom);
                    joined[first.length] = '\n';
                    System.arraycopy(buffer, valueFrom, joined, first.length + 1, contentEnd - valueFrom);
                }
            }
            lineStart = lineEnd + 1;
        }
        if (dataFrom < 0) {
            return false;
        }
        byte[] source = joined != null ? joined : buffer;
        int offset = joined != null ? 0 : dataFrom;
        int length = joined != null ? joined.length : dataTo - dataFrom;
        if (length == 0 || source[offset] != '{') {
            return false;
        }
        // An object the scanner already declined above would be declined again: straight to Jackson.
        if (scanner != null && oneLine != DECLINED && joined == null && scanner.scan(source, offset, offset + length)) {
            return true;
        }
        try (JsonParser parser = JSON.createParser(source, offset, length)) {
            JsonToken token;
            while ((token = parser.nextToken()) != null) {
                collector.accept(token, parser);
            }
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * The common event, one {@code data:} line holding a JSON object, read without splitting it into lines
     * first: the scanner reads the object (which it accepts only without line breaks), and the event is
     * taken if nothing but the line's and the event's ends follows.
     *
     * @return {@link #TAKEN}; {@link #DECLINED} when the scanner declined the object (nothing collected);
     *     {@link #OTHER_SHAPE} for every other event (nothing collected)
     */
    private int readSingleDataLine(int from, int to) {
        if (!startsWith(DATA, from, to)) {
            return OTHER_SHAPE;
        }
        int value = from + DATA.length;
        if (value < to && buffer[value] == ' ') {
            value++;
        }
        if (value >= to || buffer[value] != '{') {
            return OTHER_SHAPE;
        }
        int after = scanner.read(buffer, value, to);
        if (after < 0) {
            return DECLINED;
        }
        if (isLineAndEventEnd(after, to)) {
            usageNullFromScanner = scanner.usageNullAt();
            return TAKEN;
        }
        scanner.rollBack();
        return OTHER_SHAPE;
    }

    /** Whether {@code buffer[at, to)} is a line end and then an empty line: {@code \n\n}, with or without {@code \r}s. */
    private boolean isLineAndEventEnd(int at, int to) {
        if (at < to && buffer[at] == '\r') {
            at++;
        }
        if (at >= to || buffer[at++] != '\n') {
            return false;
        }
        if (at < to && buffer[at] == '\r') {
            at++;
        }
        return at + 1 == to && buffer[at] == '\n';
    }

    private boolean startsWith(byte[] prefix, int from, int to) {
        if (to - from < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (buffer[from + i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * The first {@code "usage":null} in {@code buffer[from, to)}, or -1. Horspool's search: it looks at
     * the byte under the pattern's last position and, on a byte the pattern does not hold, skips the
     * pattern's whole length, so an event is read about a tenth of a byte at a time instead of byte by byte.
     */
    private int indexOfUsageNull(int from, int to) {
        int last = USAGE_NULL.length - 1;
        for (int i = from; i <= to - USAGE_NULL.length; i += USAGE_NULL_SKIP[buffer[i + last] & 0xFF]) {
            if (buffer[i + last] == USAGE_NULL[last] && Arrays.equals(buffer, i, i + last, USAGE_NULL, 0, last)) {
                return i;
            }
        }
        return -1;
    }

    /** For each byte, how far the pattern may move when that byte lies under its last position. */
    private static byte[] skipTable(byte[] pattern) {
        byte[] skip = new byte[256];
        Arrays.fill(skip, (byte) pattern.length);
        for (int i = 0; i < pattern.length - 1; i++) {
            skip[pattern[i] & 0xFF] = (byte) (pattern.length - 1 - i);
        }
        return skip;
    }

    private int skipSpacesBack(int i, int limit) {
        while (i >= limit && (buffer[i] == ' ' || buffer[i] == '\t')) {
            i--;
        }
        return i;
    }

    private int skipSpacesForward(int i, int limit) {
        while (i < limit && (buffer[i] == ' ' || buffer[i] == '\t')) {
            i++;
        }
        return i;
    }
}
