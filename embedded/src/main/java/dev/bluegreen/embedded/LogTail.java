package dev.bluegreen.embedded;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/** The end of a server log, for error messages: a failed start is explained by the last lines it added. */
final class LogTail {

    static final int LINES = 30;
    private static final int MAX_BYTES = 64 * 1024;

    private LogTail() {
    }

    /** Where the log ends now: what an operation adds after it is that operation's own ({@link #ofAttempt}). */
    static long end(Path log) {
        try {
            return Files.exists(log) ? Files.size(log) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    /**
     * The last {@link #LINES} lines the log gained after {@code offset}: one attempt's own, for its error
     * message. The lines before may be an earlier run's statements, passwords in them included.
     */
    static String ofAttempt(Path log, long offset) {
        if (!Files.isRegularFile(log)) {
            return "(no log at " + log + ")";
        }
        List<String> all = Arrays.asList(since(log, offset).split("\n"));
        return String.join("\n", all.subList(Math.max(0, all.size() - LINES), all.size()));
    }

    /** What the log gained after {@code offset}: one start attempt's output. */
    static String since(Path log, long offset) {
        try (RandomAccessFile file = new RandomAccessFile(log.toFile(), "r")) {
            long start = Math.max(offset, file.length() - MAX_BYTES);
            byte[] bytes = new byte[(int) Math.max(0, file.length() - start)];
            file.seek(start);
            file.readFully(bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
