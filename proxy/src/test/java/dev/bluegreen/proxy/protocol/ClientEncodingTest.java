package dev.bluegreen.proxy.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

class ClientEncodingTest {

    private static String decode(ClientEncoding encoding, int... bytes) {
        ByteBuf buf = Unpooled.buffer(bytes.length);
        for (int b : bytes) {
            buf.writeByte(b);
        }
        try {
            return encoding.decode(buf, 0, bytes.length);
        } finally {
            buf.release();
        }
    }

    @Test
    void theEncodingsWhoseCharactersCanHideAnAsciiByteAreKnownByEverySpelling() {
        assertThat(ClientEncoding.of("SJIS")).isEqualTo(ClientEncoding.SHIFT_JIS);
        assertThat(ClientEncoding.of("shift_jis_2004")).isEqualTo(ClientEncoding.SHIFT_JIS);
        assertThat(ClientEncoding.of("Windows932")).isEqualTo(ClientEncoding.SHIFT_JIS);
        assertThat(ClientEncoding.of("BIG5")).isEqualTo(ClientEncoding.DOUBLE_BYTE);
        assertThat(ClientEncoding.of("gbk")).isEqualTo(ClientEncoding.DOUBLE_BYTE);
        assertThat(ClientEncoding.of("UHC")).isEqualTo(ClientEncoding.DOUBLE_BYTE);
        assertThat(ClientEncoding.of("GB18030")).isEqualTo(ClientEncoding.GB18030);
        assertThat(ClientEncoding.of("JOHAB")).isEqualTo(ClientEncoding.JOHAB);
        assertThat(ClientEncoding.of("UTF8")).isEqualTo(ClientEncoding.ASCII_SAFE);
        assertThat(ClientEncoding.of("EUC_JP")).isEqualTo(ClientEncoding.ASCII_SAFE);
        assertThat(ClientEncoding.of("LATIN1")).isEqualTo(ClientEncoding.ASCII_SAFE);
    }

    @Test
    void aSecondByteThatLooksLikeABackslashStaysInsideItsCharacter() {
        // ソ in SJIS, 表 in BIG5: both end in 0x5C
        assertThat(decode(ClientEncoding.SHIFT_JIS, 'E', '\'', 0x83, 0x5c, '\'')).isEqualTo("E'é'");
        assertThat(decode(ClientEncoding.DOUBLE_BYTE, '\'', 0xaa, 0x5c, '\'')).isEqualTo("'é'");
        // SJIS half-width kana are one byte: the quote after one is a quote
        assertThat(decode(ClientEncoding.SHIFT_JIS, '\'', 0xb1, '\'', ';')).isEqualTo("'é';");
        // GB18030: four bytes when a digit follows the first
        assertThat(decode(ClientEncoding.GB18030, '\'', 0x81, 0x30, 0x81, 0x30, '\'')).isEqualTo("'é'");
        assertThat(decode(ClientEncoding.GB18030, '\'', 0x81, 0x5c, '\'')).isEqualTo("'é'");
        // JOHAB: three bytes after 0x8F
        assertThat(decode(ClientEncoding.JOHAB, 0x8f, 0xa1, 0x5c, ';')).isEqualTo("é;");
        // a character cut short by the end of the text takes what is there
        assertThat(decode(ClientEncoding.SHIFT_JIS, 'a', 0x83)).isEqualTo("aé");
    }

    @Test
    void utf8AndOtherAsciiSafeTextIsReadAsUtf8() {
        assertThat(decode(ClientEncoding.ASCII_SAFE, 'a', 0xc3, 0xa9, '\'')).isEqualTo("aé'");
        // a byte that is not UTF-8 takes no ASCII byte with it
        assertThat(decode(ClientEncoding.ASCII_SAFE, 0xe3, '\'', ';')).isEqualTo("\ufffd';");
    }
}
