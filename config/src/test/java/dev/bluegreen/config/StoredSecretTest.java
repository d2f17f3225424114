package dev.bluegreen.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class StoredSecretTest {

    /** "secret" with the salt 0, 1, … 15 and 4,096 rounds, computed independently with Python's hashlib and hmac. */
    static final String SCRAM = "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$THoPhoTAuqyoQsK4dUHncUzgfD8fdmhsgKZhWVqNP5U="
            + ":7YiHMMi2OcXGRogub03Ek06JRZ9bkhTOdCzHa5iPLiQ=";

    @Test
    void aScramSecretIsReadAsPostgresWritesIt() {
        StoredSecret.Scram secret = (StoredSecret.Scram) StoredSecret.of(Secret.of(SCRAM)).orElseThrow();

        assertThat(secret.iterations()).isEqualTo(4096);
        assertThat(secret.salt()).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        assertThat(Base64.getEncoder().encodeToString(secret.storedKey()))
                .isEqualTo("THoPhoTAuqyoQsK4dUHncUzgfD8fdmhsgKZhWVqNP5U=");
        assertThat(Base64.getEncoder().encodeToString(secret.serverKey()))
                .isEqualTo("7YiHMMi2OcXGRogub03Ek06JRZ9bkhTOdCzHa5iPLiQ=");
        assertThat(secret.toString()).doesNotContain("THoP").doesNotContain("4096");
    }

    @Test
    void anMd5SecretIsMd5AndThirtyTwoLowercaseHexDigits() {
        String md5 = "md54a0a68b43b6cd5cf266fa02f196e2371";

        assertThat(StoredSecret.of(Secret.of(md5))).contains(new StoredSecret.Md5(md5));
        assertThat(new StoredSecret.Md5(md5).toString()).doesNotContain("4a0a");
    }

    /** As PostgreSQL tells them apart: anything not exactly a secret's form is the password itself. */
    @ParameterizedTest
    @ValueSource(strings = {"hunter2", "md54A0A68B43B6CD5CF266FA02F196E2371", "md54a0a68b43b6cd5cf266fa02f196e237",
        "md54a0a68b43b6cd5cf266fa02f196e23712", "md5 4a0a68b43b6cd5cf266fa02f196e237", "scram-sha-256$4096:x$y:z",
        "SCRAM-SHA-256", ""})
    void anythingElseIsThePasswordItself(String password) {
        assertThat(StoredSecret.of(Secret.of(password))).isEmpty();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==                                | expected SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey",
        "SCRAM-SHA-256$4096$AAAA:BBBB                                               | expected SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey",
        "SCRAM-SHA-256$0:AAECAwQFBgcICQoLDA0ODw==$" + "KEYS                         | its iteration count is not a whole number from 1 to 2147483647",
        "SCRAM-SHA-256$+4096:AAECAwQFBgcICQoLDA0ODw==$" + "KEYS                     | its iteration count is not a whole number from 1 to 2147483647",
        "SCRAM-SHA-256$99999999999:AAECAwQFBgcICQoLDA0ODw==$" + "KEYS               | its iteration count is not a whole number from 1 to 2147483647",
        "SCRAM-SHA-256$4096:not base64!$" + "KEYS                                   | its salt is not base64",
        "SCRAM-SHA-256$4096:$" + "KEYS                                              | its salt is empty",
        "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$AAAA:7YiHMMi2OcXGRogub03Ek06JRZ9bkhTOdCzHa5iPLiQ= | its StoredKey is 3 bytes, not 32",
        "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$THoPhoTAuqyoQsK4dUHncUzgfD8fdmhsgKZhWVqNP5U=:%%  | its ServerKey is not base64",
    })
    void aValueThatBeginsAsAScramSecretAndIsNotOneIsAProblemThatDoesNotRepeatIt(String value, String problem) {
        String secret = value.replace("KEYS", SCRAM.substring(SCRAM.lastIndexOf('$') + 1));

        assertThatThrownBy(() -> StoredSecret.of(Secret.of(secret))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(problem)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("AAECAwQF").doesNotContain("THoP"));
    }
}
