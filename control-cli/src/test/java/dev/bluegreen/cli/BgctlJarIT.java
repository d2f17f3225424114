package dev.bluegreen.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shaded {@code target/bgctl.jar} runs on its own: Picocli and Jackson are inside, the exit codes come out. */
class BgctlJarIT {

    private static final Path JAR = Path.of("target", "bgctl.jar");

    @TempDir Path dir;

    private record Result(int exit, String out, String err) {}

    private Result bgctl(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", JAR.toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectOutput(dir.resolve("out").toFile())
                .redirectError(dir.resolve("err").toFile());
        builder.environment().remove("BLUEGREEN_ADMIN_URL");
        builder.environment().remove("BLUEGREEN_ADMIN_TOKEN");
        Process process = builder.start();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("bgctl finished").isTrue();
        return new Result(process.exitValue(),
                Files.readString(dir.resolve("out"), StandardCharsets.UTF_8),
                Files.readString(dir.resolve("err"), StandardCharsets.UTF_8));
    }

    @Test
    void theJarTalksToTheAdminApiAndSaysWhatHappened() throws Exception {
        try (FakeAdminApi api = new FakeAdminApi()) {
            Path stateDir = Files.createDirectory(dir.resolve("state"));
            Files.writeString(stateDir.resolve("admin-token"), FakeAdminApi.TOKEN);
            api.answer("POST", "/api/v1/commands/cutover", 409, "{\"error\": \"green is out of sync\"}");

            Result status = bgctl("status", "--url", api.url(), "--state-dir", stateDir.toString());
            Result refused = bgctl("cutover", "--url", api.url(), "--state-dir", stateDir.toString());

            assertThat(status.exit()).as(status.err()).isZero();
            assertThat(status.out()).containsPattern("phase\\s+dual");
            assertThat(refused.exit()).isEqualTo(1);
            assertThat(refused.err()).contains("refused: green is out of sync");
        }
    }

    @Test
    void theJarExitsThreeWhenNothingListens() throws Exception {
        Path token = Files.writeString(dir.resolve("token"), "t");

        Result result = bgctl("history", "--url", "http://127.0.0.1:1", "--token-file", token.toString());

        assertThat(result.exit()).isEqualTo(3);
        assertThat(result.err()).contains("cannot reach the proxy's admin API at http://127.0.0.1:1");
    }
}
