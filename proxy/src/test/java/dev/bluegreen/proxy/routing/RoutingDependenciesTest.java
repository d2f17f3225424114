package dev.bluegreen.proxy.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The promise of this package's package-info: pure decisions, nothing but the JDK and Caffeine. Reads
 * the compiled classes' constant pools (every class a class file refers to is named there) rather than
 * running ArchUnit, which takes seconds to import what this does in milliseconds.
 */
class RoutingDependenciesTest {

    private static final List<String> ALLOWED = List.of("java/", "com/github/benmanes/caffeine/", "dev/bluegreen/proxy/routing/");
    /** A class named inside a field, method or generic signature: {@code (Ljava/util/List<Ljava/lang/String;>;)V}. */
    private static final Pattern IN_DESCRIPTOR = Pattern.compile("(?:^|[(;\\[)<>:*+-])L([\\w/$]+)[;<]");

    @Test
    void routingDependsOnNothingButTheJdkAndCaffeine() throws IOException, URISyntaxException {
        Set<String> referenced = new TreeSet<>();
        try (Stream<Path> files = Files.list(compiledRouting())) {
            for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                try (InputStream in = Files.newInputStream(file)) {
                    referenced.addAll(classesNamedIn(new DataInputStream(in)));
                }
            }
        }

        assertThat(referenced).isNotEmpty().allSatisfy(name ->
                assertThat(ALLOWED).anySatisfy(prefix -> assertThat(name).startsWith(prefix)));
        assertThat(referenced).anySatisfy(name -> assertThat(name).startsWith("com/github/benmanes/caffeine/"));
    }

    private static Path compiledRouting() throws URISyntaxException {
        return Path.of(Classifier.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .resolve(Classifier.class.getPackageName().replace('.', '/'));
    }

    /** Class names from CONSTANT_Class entries and from descriptors; string literals are left out. */
    private static Set<String> classesNamedIn(DataInputStream in) throws IOException {
        in.readInt();
        in.readUnsignedShort();
        in.readUnsignedShort();
        int count = in.readUnsignedShort();
        String[] utf8 = new String[count];
        Set<Integer> classNames = new HashSet<>();
        Set<Integer> literals = new HashSet<>();
        for (int i = 1; i < count; i++) {
            int tag = in.readUnsignedByte();
            switch (tag) {
                case 1 -> utf8[i] = in.readUTF();
                case 7 -> classNames.add(in.readUnsignedShort());
                case 8 -> literals.add(in.readUnsignedShort());
                case 16, 19, 20 -> in.readUnsignedShort();
                case 15 -> in.skipNBytes(3);
                case 3, 4, 9, 10, 11, 12, 17, 18 -> in.skipNBytes(4);
                case 5, 6 -> {
                    in.skipNBytes(8);
                    i++;
                }
                default -> throw new IOException("unknown constant pool tag " + tag);
            }
        }
        Set<String> names = new HashSet<>();
        for (int i = 1; i < count; i++) {
            if (utf8[i] == null || literals.contains(i)) {
                continue;
            }
            if (classNames.contains(i)) {
                names.add(utf8[i].replaceFirst("^\\[+L?", "").replaceFirst(";$", ""));
            }
            Matcher matcher = IN_DESCRIPTOR.matcher(utf8[i]);
            while (matcher.find()) {
                names.add(matcher.group(1));
            }
        }
        names.removeIf(name -> name.length() <= 1);
        return names;
    }
}
