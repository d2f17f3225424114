package dev.bluegreen.embedded;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * The superuser password of clusters created with a generated one, kept in a 0600 file beside
 * their data.
 *
 * <p>Invariant: a new password is only made while none of the clusters exists. A cluster accepts
 * only the password it was created with, so a password invented for clusters that already exist
 * could never log in (each start then failed on 28P01).
 */
public final class SuperuserPasswordFile {

    private SuperuserPasswordFile() {
    }

    /**
     * The password in {@code file}; when there is no file, a new random one written there, unless
     * a cluster already exists in one of {@code dataDirs} (as requested of {@link PgCluster.Builder#dataDir},
     * wherever their data really lives).
     */
    public static String readOrCreate(Path file, List<Path> dataDirs) throws IOException {
        NoFollow.refuseLink(file, "superuser password file");
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            String password = NoFollow.read(file).strip();
            if (!password.isEmpty()) {
                return password;
            }
            if (!existingClusters(dataDirs).isEmpty()) {
                throw new IOException("the superuser password file " + file + " is empty; put the password the clusters"
                        + " were created with in it");
            }
            // made, then the process died before it wrote the password: no cluster has one yet, so a new one does
            Files.delete(file);
        }
        List<Path> existing = existingClusters(dataDirs);
        if (!existing.isEmpty()) {
            throw new IOException("the superuser password file " + file + " is missing, but the clusters in "
                    + String.join(" and ", existing.stream().map(Path::toString).toList())
                    + " exist and accept only the password they were created with. Put the file back, or delete "
                    + (existing.size() == 1 ? "that directory" : "those directories")
                    + " to create the clusters afresh with a new password");
        }
        byte[] random = new byte[18];
        new SecureRandom().nextBytes(random);
        String password = HexFormat.of().formatHex(random);
        try (SeekableByteChannel channel = Files.newByteChannel(file,
                Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
            channel.write(ByteBuffer.wrap((password + "\n").getBytes(StandardCharsets.UTF_8)));
        }
        return password;
    }

    private static List<Path> existingClusters(List<Path> requested) throws IOException {
        ServerUser user = ServerUser.current();
        List<Path> existing = new ArrayList<>();
        for (Path dir : requested) {
            Path actual = DataDirPlacement.resolve(dir, user);
            if (InitDb.finishedIn(actual)) {
                existing.add(actual);
            }
        }
        return existing;
    }
}
