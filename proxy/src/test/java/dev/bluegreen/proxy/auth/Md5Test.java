package dev.bluegreen.proxy.auth;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class Md5Test {

    private static final byte[] SALT = {1, 2, 3, 4};

    @Test
    void responseMatchesPostgresFormula() {
        // md5(md5("secret" + "alice") + salt), computed independently with Python's hashlib
        assertThat(Md5.response("alice", "secret", SALT)).isEqualTo("md598a0412b9c31436fc53776e863350083");
    }

    @Test
    void verifyAcceptsTheRightAnswerOnly() {
        assertThat(Md5.verify("alice", "secret", SALT, "md598a0412b9c31436fc53776e863350083")).isTrue();
        assertThat(Md5.verify("alice", "Secret", SALT, "md598a0412b9c31436fc53776e863350083")).isFalse();
        assertThat(Md5.verify("alice", "secret", new byte[] {4, 3, 2, 1}, "md598a0412b9c31436fc53776e863350083")).isFalse();
    }
}
