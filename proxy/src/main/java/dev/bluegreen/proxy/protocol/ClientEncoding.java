package dev.bluegreen.proxy.protocol;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * How to read a client's SQL text well enough to lex it. Every server encoding, and most client
 * encodings, keep ASCII bytes out of multibyte characters, so reading the text as UTF-8 finds every
 * quote, backslash and semicolon where the server finds them (a byte that is not UTF-8 becomes U+FFFD
 * and takes no ASCII byte with it). Seven client-only encodings do not: in SJIS, BIG5, GBK, UHC,
 * GB18030, JOHAB and SHIFT_JIS_2004 the second byte of a character may be a backslash, and
 * {@code E'ソ'} would look unterminated. For those, each character is measured as the server measures it
 * and read as one stand-in letter, so that none of its bytes is taken for syntax.
 */
public enum ClientEncoding {
    /** UTF-8 and every encoding whose multibyte characters have no ASCII bytes. */
    ASCII_SAFE,
    /** SJIS and SHIFT_JIS_2004: 0xA1–0xDF are single-byte kana, any other high byte starts two bytes. */
    SHIFT_JIS,
    /** BIG5, GBK, UHC: a high byte starts two bytes. */
    DOUBLE_BYTE,
    /** GB18030: a high byte starts two bytes, or four when a digit follows it. */
    GB18030,
    /** JOHAB: as EUC: 0x8E starts two bytes, 0x8F three, any other high byte two. */
    JOHAB;

    /** What stands for a character whose bytes the lexer must not see: a letter, as the server reads it. */
    static final char STAND_IN = '\u00e9';

    /** The encoding a {@code client_encoding} value names (any spelling the server reports or accepts). */
    public static ClientEncoding of(String name) {
        String n = name.toUpperCase(Locale.ROOT).replace("_", "").replace("-", "");
        return switch (n) {
            case "SJIS", "SHIFTJIS", "MSKANJI", "SHIFTJIS2004", "WIN932", "WINDOWS932" -> SHIFT_JIS;
            case "BIG5", "WIN950", "WINDOWS950", "GBK", "WIN936", "WINDOWS936", "UHC", "WIN949", "WINDOWS949" -> DOUBLE_BYTE;
            case "GB18030" -> GB18030;
            case "JOHAB" -> JOHAB;
            default -> ASCII_SAFE;
        };
    }

    /** The text of {@code length} bytes at {@code from}, fit for the lexer. */
    public String decode(ByteBuf buf, int from, int length) {
        if (this == ASCII_SAFE) {
            return buf.toString(from, length, StandardCharsets.UTF_8);
        }
        StringBuilder text = new StringBuilder(length);
        int end = from + length;
        int i = from;
        while (i < end) {
            int b = buf.getByte(i) & 0xff;
            if (b < 0x80) {
                text.append((char) b);
                i++;
            } else {
                text.append(STAND_IN);
                i += characterLength(buf, i, end, b);
            }
        }
        return text.toString();
    }

    /** Bytes in the character that starts with high byte {@code b} at {@code i}, as the server counts them. */
    private int characterLength(ByteBuf buf, int i, int end, int b) {
        int length = switch (this) {
            case SHIFT_JIS -> b >= 0xa1 && b <= 0xdf ? 1 : 2;
            case DOUBLE_BYTE -> 2;
            case GB18030 -> {
                int next = i + 1 < end ? buf.getByte(i + 1) & 0xff : 0;
                yield next >= 0x30 && next <= 0x39 ? 4 : 2;
            }
            case JOHAB -> b == 0x8f ? 3 : 2;
            case ASCII_SAFE -> 1;
        };
        return Math.min(length, end - i);
    }
}
