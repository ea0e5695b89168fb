package dev.tollgate.storage;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The journal's binary form of a ledger row: a kind byte, then the row's fields in declaration order
 * (longs and ints little-endian, booleans as a byte, strings as an int byte length, -1 for null, and
 * UTF-8). It is written on the event loop for every call, so it is a flat copy with no reflection and
 * no text formatting; it is read only when a journal is replayed after a crash.
 */
final class JournalCodec {

    private static final byte CALL = 1;
    private static final byte EVENT = 2;
    private static final byte AGENT_STATE = 3;

    private JournalCodec() {
    }

    /** The row's bytes; {@link IllegalArgumentException} for a type that is not a ledger row. */
    static byte[] encode(Object row) {
        Out out = new Out();
        if (row instanceof CallRow call) {
            out.put(CALL);
            out.putLong(call.tsMs());
            out.putString(call.agent());
            out.putString(call.intent());
            out.putString(call.team());
            out.putString(call.endpoint());
            out.putString(call.model());
            out.putInt(call.status());
            out.putBoolean(call.streamed());
            out.putLong(call.inputTokens());
            out.putLong(call.cachedInputTokens());
            out.putLong(call.outputTokens());
            out.putLong(call.reasoningTokens());
            out.putLong(call.costNanos());
            out.putString(call.usageSource());
            out.putLong(call.latencyMs());
            out.putBoolean(call.refused());
        } else if (row instanceof EventRow event) {
            out.put(EVENT);
            out.putLong(event.tsMs());
            out.putString(event.agent());
            out.putString(event.intent());
            out.putString(event.kind());
            out.putString(event.detailJson());
        } else if (row instanceof AgentStateRow state) {
            out.put(AGENT_STATE);
            out.putString(state.agent());
            out.putBoolean(state.paused());
            out.putString(state.reason());
            out.putLong(state.tsMs());
        } else {
            throw new IllegalArgumentException("not a ledger row: " + row);
        }
        return out.bytes();
    }

    /** Reads one row written by {@link #encode}; {@link IllegalArgumentException} if the bytes are not one. */
    static Object decode(ByteBuffer in) {
        try {
            byte kind = in.get();
            Object row = switch (kind) {
                case CALL -> new CallRow(in.getLong(), string(in), string(in), string(in), string(in), string(in), in.getInt(),
                        bool(in), in.getLong(), in.getLong(), in.getLong(), in.getLong(), in.getLong(), string(in), in.getLong(),
                        bool(in));
                case EVENT -> new EventRow(in.getLong(), string(in), string(in), string(in), string(in));
                case AGENT_STATE -> new AgentStateRow(string(in), bool(in), string(in), in.getLong());
                default -> throw new IllegalArgumentException("unknown journal row kind " + kind);
            };
            if (in.hasRemaining()) {
                throw new IllegalArgumentException(in.remaining() + " byte(s) after a journal row");
            }
            return row;
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("a journal row ends early", e);
        }
    }

    private static boolean bool(ByteBuffer in) {
        return in.get() != 0;
    }

    private static String string(ByteBuffer in) {
        int length = in.getInt();
        if (length == -1) {
            return null;
        }
        if (length < 0 || length > in.remaining()) {
            throw new IllegalArgumentException("a journal string of " + length + " byte(s) with " + in.remaining() + " left");
        }
        String value = new String(in.array(), in.arrayOffset() + in.position(), length, StandardCharsets.UTF_8);
        in.position(in.position() + length);
        return value;
    }

    /** A growing little-endian byte array: rows are a few hundred bytes, so one or two copies at most. */
    private static final class Out {
        private byte[] bytes = new byte[256];
        private int size;

        void put(byte b) {
            ensure(1);
            bytes[size++] = b;
        }

        void putBoolean(boolean b) {
            put((byte) (b ? 1 : 0));
        }

        void putInt(int v) {
            ensure(4);
            for (int i = 0; i < 4; i++) {
                bytes[size++] = (byte) (v >>> (8 * i));
            }
        }

        void putLong(long v) {
            ensure(8);
            for (int i = 0; i < 8; i++) {
                bytes[size++] = (byte) (v >>> (8 * i));
            }
        }

        void putString(String s) {
            if (s == null) {
                putInt(-1);
                return;
            }
            byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
            putInt(utf8.length);
            ensure(utf8.length);
            System.arraycopy(utf8, 0, bytes, size, utf8.length);
            size += utf8.length;
        }

        byte[] bytes() {
            return Arrays.copyOf(bytes, size);
        }

        private void ensure(int more) {
            if (size + more > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
            }
        }
    }
}
