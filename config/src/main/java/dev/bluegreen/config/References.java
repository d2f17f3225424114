package dev.bluegreen.config;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Resolves a value that is exactly {@code ${env:NAME}} or {@code ${file:PATH}}, so secrets stay
 * out of the configuration file. Other text that starts with {@code ${} or holds {@code ${env:} or
 * {@code ${file:} is refused as a reference mistyped; any other text is taken literally.
 */
final class References {

    private static final Pattern REFERENCE = Pattern.compile("\\$\\{([A-Za-z]+):(.*)}", Pattern.DOTALL);

    /** A secret file larger than this is a mistake (or {@code /dev/zero}), not a password. */
    static final int MAX_FILE_BYTES = 64 * 1024;

    private final Function<String, String> env;

    References(Function<String, String> env) {
        this.env = env;
    }

    /** Whether {@code raw} is a reference (well-formed or not) rather than literal text. */
    static boolean isReference(String raw) {
        return REFERENCE.matcher(raw).matches();
    }

    /**
     * The value of {@code raw} at {@code path}: the text itself, or what it refers to. An unset
     * variable or unreadable file is reported at {@code path} and yields empty.
     */
    Optional<Scalar> resolve(String raw, String path, Problems problems) {
        Matcher m = REFERENCE.matcher(raw);
        if (!m.matches()) {
            if (raw.startsWith("${") || raw.contains("${env:") || raw.contains("${file:")) {
                // a reference mistyped (a brace missing, a blank around it, a newline after it) would otherwise be
                // taken as the literal secret: a password anyone could guess from the file
                problems.add(path, "looks like a reference but is not one: write exactly ${env:NAME} or ${file:PATH},"
                        + " with nothing around it");
                return Optional.empty();
            }
            return Optional.of(new Scalar(raw, null));
        }
        String kind = m.group(1);
        String target = m.group(2);
        if (kind.equals("env")) {
            if (target.isEmpty()) {
                problems.add(path, "${env:} needs a variable name");
                return Optional.empty();
            }
            String value = env.apply(target);
            if (value == null) {
                problems.add(path, "environment variable " + target + " is not set");
                return Optional.empty();
            }
            // as a file's: a value set with a trailing newline (a Kubernetes secret written by echo) means without it
            return Optional.of(new Scalar(stripTrailingNewlines(value), raw));
        }
        if (kind.equals("file")) {
            if (target.isEmpty()) {
                problems.add(path, "${file:} needs a path");
                return Optional.empty();
            }
            return readFile(target, path, problems).map(value -> new Scalar(value, raw));
        }
        problems.add(path, "unknown reference \"${" + kind + ":...}\" (expected ${env:NAME} or ${file:PATH})");
        return Optional.empty();
    }

    private static Optional<String> readFile(String name, String path, Problems problems) {
        Path file;
        try {
            file = Path.of(name);
        } catch (InvalidPathException e) {
            problems.add(path, "cannot read " + name + ": not a valid path");
            return Optional.empty();
        }
        if (Files.isDirectory(file)) {
            problems.add(path, "cannot read " + name + ": is a directory");
            return Optional.empty();
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_FILE_BYTES + 1);
        } catch (NoSuchFileException e) {
            problems.add(path, "cannot read " + name + ": no such file");
            return Optional.empty();
        } catch (AccessDeniedException e) {
            problems.add(path, "cannot read " + name + ": permission denied");
            return Optional.empty();
        } catch (IOException e) {
            problems.add(path, "cannot read " + name + ": " + e.getClass().getSimpleName());
            return Optional.empty();
        }
        if (bytes.length > MAX_FILE_BYTES) {
            problems.add(path, "cannot read " + name + ": larger than 64KiB");
            return Optional.empty();
        }
        try {
            // strictly: a malformed byte would otherwise turn into U+FFFD, another secret than the file's
            String text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
            return Optional.of(stripTrailingNewlines(text));
        } catch (CharacterCodingException e) {
            problems.add(path, "cannot read " + name + ": not valid UTF-8");
            return Optional.empty();
        }
    }

    /** Files written by {@code echo} or editors end with a newline that is not part of the secret. */
    static String stripTrailingNewlines(String s) {
        int end = s.length();
        while (end > 0 && (s.charAt(end - 1) == '\n' || s.charAt(end - 1) == '\r')) {
            end--;
        }
        return s.substring(0, end);
    }

    /**
     * A configuration value after resolution.
     *
     * @param reference the {@code ${...}} it came from, or null when written literally
     */
    record Scalar(String value, String reference) {

        /**
         * How to name the value in a message: quoted when literal, and by its reference otherwise,
         * since whatever a reference points at may be secret.
         */
        String shown() {
            return reference == null ? "\"" + value + "\"" : "(the value of " + reference + ")";
        }
    }
}
