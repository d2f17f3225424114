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
    void theSecretIsWhatPostgresStores() {
        // md5("secret" + "alice"), as pg_authid.rolpassword holds it for password_encryption = md5
        assertThat(Md5.secret("alice", "secret")).isEqualTo("md54a0a68b43b6cd5cf266fa02f196e2371");
        assertThat(Md5.responseFromSecret(Md5.secret("alice", "secret"), SALT)).isEqualTo(Md5.response("alice", "secret", SALT));
    }

    @Test
    void verifyAcceptsTheRightAnswerOnly() {
        String secret = Md5.secret("alice", "secret");
        assertThat(Md5.verify(secret, SALT, "md598a0412b9c31436fc53776e863350083")).isTrue();
        assertThat(Md5.verify(Md5.secret("alice", "Secret"), SALT, "md598a0412b9c31436fc53776e863350083")).isFalse();
        assertThat(Md5.verify(Md5.secret("bob", "secret"), SALT, "md598a0412b9c31436fc53776e863350083")).isFalse();
        assertThat(Md5.verify(secret, new byte[] {4, 3, 2, 1}, "md598a0412b9c31436fc53776e863350083")).isFalse();
    }
}
