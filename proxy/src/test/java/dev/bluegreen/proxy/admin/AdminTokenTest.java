package dev.bluegreen.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the admin token comes from, how a fresh one is written, and what a request must present. */
class AdminTokenTest {

    @TempDir
    Path dir;

    @Test
    void aTokenFileIsReadWithoutTheNewlineEchoLeaves() throws Exception {
        Path file = Files.writeString(dir.resolve("token"), "from-file\n");

        AdminToken token = AdminToken.resolve(file, "from-environment", dir.resolve("state"));

        assertThat(token.matches("Bearer from-file")).isTrue();
        assertThat(token.matches("Bearer from-environment")).isFalse();
        assertThat(token.source()).isEqualTo("file " + file);
        assertThat(dir.resolve("state")).doesNotExist();
    }

    @Test
    void anEmptyOrMissingTokenFileIsRefused() throws Exception {
        Path empty = Files.writeString(dir.resolve("empty"), " \n");

        assertThatThrownBy(() -> AdminToken.resolve(empty, null, dir)).isInstanceOf(IOException.class)
                .hasMessage("admin token file " + empty + " is empty");
        assertThatThrownBy(() -> AdminToken.resolve(dir.resolve("nope"), null, dir)).isInstanceOf(IOException.class)
                .hasMessage("admin token file " + dir.resolve("nope") + " does not exist");
    }

    /** Netty reads header bytes as ISO-8859-1: such a token would be accepted here and never match. */
    @Test
    void aTokenFileWithAByteOrderMarkOrAnythingButPrintableAsciiIsRefusedWithoutShowingTheToken() throws Exception {
        Path withBom = Files.writeString(dir.resolve("bom"), "\uFEFFsecret\n");
        Path accented = Files.writeString(dir.resolve("accented"), "sec ret\u00e9\u2603\n");

        assertThatThrownBy(() -> AdminToken.resolve(withBom, null, dir)).isInstanceOf(IOException.class)
                .hasMessage("admin token file " + withBom
                        + ": the token must be printable ASCII, but character 1 is a byte order mark (U+FEFF);"
                        + " save it without one");
        assertThatThrownBy(() -> AdminToken.resolve(accented, null, dir)).isInstanceOf(IOException.class)
                .hasMessage("admin token file " + accented + ": the token must be printable ASCII, but character 8 is not ASCII")
                .message().doesNotContain("sec");
        assertThat(dir.resolve("admin-token")).doesNotExist();
    }

    @Test
    void anEnvironmentVariableWithAControlCharacterIsRefused() {
        assertThatThrownBy(() -> AdminToken.resolve(null, "sec\u0007ret", dir)).isInstanceOf(IOException.class)
                .hasMessage("environment variable BLUEGREEN_ADMIN_TOKEN: the token must be printable ASCII,"
                        + " but character 4 is a control character");
    }

    @Test
    void theEnvironmentVariableServesWhenNoFileIsGiven() throws Exception {
        AdminToken token = AdminToken.resolve(null, "from-environment", dir.resolve("state"));

        assertThat(token.matches("Bearer from-environment")).isTrue();
        assertThat(token.source()).isEqualTo("environment variable BLUEGREEN_ADMIN_TOKEN");
        assertThat(dir.resolve("state")).doesNotExist();
    }

    @Test
    void withNeitherAFreshTokenIsWrittenForItsOwnerOnly() throws Exception {
        Path stateDir = dir.resolve("not").resolve("yet");

        AdminToken token = AdminToken.resolve(null, " ", stateDir);

        Path file = stateDir.resolve("admin-token");
        String written = Files.readString(file);
        assertThat(written).matches("[A-Za-z0-9_-]{43}\n");
        assertThat(token.matches("Bearer " + written.strip())).isTrue();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(token.source()).isEqualTo("generated into " + file.toAbsolutePath().normalize());
        try (var left = Files.list(stateDir)) {
            assertThat(left).containsExactly(file);
        }
    }

    @Test
    void everyStartWritesAFreshToken() throws Exception {
        AdminToken first = AdminToken.generate(dir, new SecureRandom());
        String firstToken = Files.readString(dir.resolve("admin-token")).strip();

        AdminToken second = AdminToken.generate(dir, new SecureRandom());

        String secondToken = Files.readString(dir.resolve("admin-token")).strip();
        assertThat(secondToken).isNotEqualTo(firstToken);
        assertThat(first.matches("Bearer " + firstToken)).isTrue();
        assertThat(second.matches("Bearer " + firstToken)).isFalse();
    }

    @Test
    void onlyTheExactBearerTokenMatches() {
        AdminToken token = AdminToken.of("t0ken");

        assertThat(token.matches("Bearer t0ken")).isTrue();
        assertThat(token.matches("bearer   t0ken ")).isTrue();
        assertThat(token.matches("Bearer t0ken2")).isFalse();
        assertThat(token.matches("Bearer t0ke")).isFalse();
        assertThat(token.matches("Bearer T0KEN")).isFalse();
        assertThat(token.matches("Bearer")).isFalse();
        assertThat(token.matches("Bearer ")).isFalse();
        assertThat(token.matches("t0ken")).isFalse();
        assertThat(token.matches("Basic t0ken")).isFalse();
        assertThat(token.matches(null)).isFalse();
    }

    @Test
    void theTokenNeverShowsInItsDescription() throws Exception {
        AdminToken token = AdminToken.resolve(null, "very-secret", dir);

        assertThat(token.toString()).doesNotContain("very-secret");
        assertThat(token.source()).doesNotContain("very-secret");
    }
}
