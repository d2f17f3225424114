package dev.bluegreen.proxy.admin;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The bearer token the admin API requires, and where it came from. The token itself never leaves
 * this class but through {@link #matches}: {@code toString} names only its source.
 *
 * <p>Resolved, in order, from {@code --admin-token-file}, then {@code BLUEGREEN_ADMIN_TOKEN}; with
 * neither, a fresh random token is written to {@code <state-dir>/admin-token} (mode 600) where bgctl,
 * given the same state directory, finds it. A fresh one on every start: a token never outlives the
 * process that accepts it. The proxy writes it only once it holds the state directory, so a second proxy
 * refused there never replaces the running one's token.
 *
 * <p>A token is printable ASCII (spaces allowed inside): Netty reads header bytes as ISO-8859-1 and HTTP
 * clients refuse control characters, so anything else (a byte order mark an editor left, a non-ASCII
 * letter) could never be presented intact. Such a token is refused when it is read, with a message that
 * says where and why but never shows the token.
 */
public final class AdminToken {

    public static final String ENVIRONMENT_VARIABLE = "BLUEGREEN_ADMIN_TOKEN";
    public static final String FILE_NAME = "admin-token";

    private static final int RANDOM_BYTES = 32;
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private final byte[] digest;
    private final String source;

    private AdminToken(String token, String source) {
        this.digest = sha256(token);
        this.source = source;
    }

    /**
     * The token from {@code tokenFile} if given, else from {@code environmentValue} if not blank, else a
     * new one written under {@code stateDir}.
     *
     * @throws IOException when the file cannot be read or is empty, or the new token cannot be written
     */
    public static AdminToken resolve(Path tokenFile, String environmentValue, Path stateDir) throws IOException {
        Optional<AdminToken> given = given(tokenFile, environmentValue);
        return given.isPresent() ? given.get() : generate(stateDir, new SecureRandom());
    }

    /**
     * The token the operator gave: from {@code tokenFile} if given, else from {@code environmentValue} if
     * not blank; empty when neither is. Reads only: nothing is written, so a proxy can check it before it
     * knows whether it may use its state directory.
     *
     * @throws IOException when the file cannot be read or is empty, or the token is not printable ASCII
     */
    public static Optional<AdminToken> given(Path tokenFile, String environmentValue) throws IOException {
        if (tokenFile != null) {
            return Optional.of(fromFile(tokenFile));
        }
        if (environmentValue != null && !environmentValue.isBlank()) {
            String token = environmentValue.strip();
            String problem = unusable(token);
            if (problem != null) {
                throw new IOException("environment variable " + ENVIRONMENT_VARIABLE + ": " + problem);
            }
            return Optional.of(new AdminToken(token, "environment variable " + ENVIRONMENT_VARIABLE));
        }
        return Optional.empty();
    }

    /**
     * Why {@code token} cannot be presented in an {@code Authorization} header, or null when it can. Names
     * the offending character's position and kind, never the token or the character itself.
     */
    static String unusable(String token) {
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c >= 0x20 && c <= 0x7E) {
                continue;
            }
            String what = c == '\uFEFF' ? "a byte order mark (U+FEFF); save it without one"
                    : c < 0x20 || c == 0x7F ? "a control character" : "not ASCII";
            return "the token must be printable ASCII, but character " + (i + 1) + " is " + what;
        }
        return null;
    }

    /**
     * A fresh token written to {@code stateDir/admin-token}, replacing the one there. Only the proxy that
     * holds the state directory may call this: the file is what bgctl reads to reach the running proxy.
     *
     * @throws IOException when the token cannot be written
     */
    public static AdminToken generate(Path stateDir) throws IOException {
        return generate(stateDir, new SecureRandom());
    }

    /** The file's content without surrounding white space (an {@code echo} leaves a newline). */
    static AdminToken fromFile(Path file) throws IOException {
        String token;
        try {
            token = Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (NoSuchFileException e) {
            throw new IOException("admin token file " + file + " does not exist", e);
        } catch (IOException e) {
            throw new IOException("cannot read admin token file " + file + ": " + e, e);
        }
        if (token.isEmpty()) {
            throw new IOException("admin token file " + file + " is empty");
        }
        String problem = unusable(token);
        if (problem != null) {
            throw new IOException("admin token file " + file + ": " + problem);
        }
        return new AdminToken(token, "file " + file);
    }

    /** A new URL-safe token (256 random bits) in {@code stateDir/admin-token}, readable by its owner only. */
    static AdminToken generate(Path stateDir, SecureRandom random) throws IOException {
        byte[] bytes = new byte[RANDOM_BYTES];
        random.nextBytes(bytes);
        String token = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        Path file = stateDir.resolve(FILE_NAME);
        try {
            write(stateDir, file, token);
        } catch (IOException e) {
            throw new IOException("cannot write a new admin token to " + file + ": " + e, e);
        }
        return new AdminToken(token, "generated into " + file.toAbsolutePath().normalize());
    }

    private static void write(Path stateDir, Path file, String token) throws IOException {
        Files.createDirectories(stateDir);
        // written whole under another name with its final mode, then renamed: a reader never sees a
        // partial token, and no instant exists where the token is readable by others
        Path temporary = createOwnerOnly(stateDir);
        try {
            Files.writeString(temporary, token + "\n", StandardCharsets.UTF_8);
            try {
                Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    /** For tests and embedders that hold the token already. */
    public static AdminToken of(String token) {
        Objects.requireNonNull(token, "token");
        if (token.isBlank()) {
            throw new IllegalArgumentException("admin token must not be blank");
        }
        String problem = unusable(token);
        if (problem != null) {
            throw new IllegalArgumentException("admin token: " + problem);
        }
        return new AdminToken(token, "given");
    }

    /**
     * Whether an {@code Authorization} header value carries this token as {@code Bearer <token>}. Takes
     * the same time whatever the presented token: both sides are compared as SHA-256 digests, so
     * neither a matching prefix nor the length shows in the timing.
     */
    public boolean matches(String authorization) {
        String presented = bearer(authorization);
        byte[] candidate = sha256(presented == null ? "" : presented);
        return MessageDigest.isEqual(digest, candidate) && presented != null;
    }

    /** The token in a {@code Bearer} header value, or null when there is none. */
    static String bearer(String authorization) {
        if (authorization == null) {
            return null;
        }
        String value = authorization.strip();
        int space = value.indexOf(' ');
        if (space < 0 || !value.substring(0, space).toLowerCase(Locale.ROOT).equals("bearer")) {
            return null;
        }
        String token = value.substring(space + 1).strip();
        return token.isEmpty() ? null : token;
    }

    /** Where the token came from, for the log. */
    public String source() {
        return source;
    }

    @Override
    public String toString() {
        return "AdminToken[" + source + "]";
    }

    private static Path createOwnerOnly(Path dir) throws IOException {
        try {
            return Files.createTempFile(dir, "." + FILE_NAME, ".tmp", PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        } catch (UnsupportedOperationException notPosix) {
            return Files.createTempFile(dir, "." + FILE_NAME, ".tmp");
        }
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
