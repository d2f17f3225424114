package dev.bluegreen.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code bgctl}: the operator's command line for a running bluegreen proxy. It only talks to the
 * proxy's admin HTTP API; the commands themselves arrive in a later release, so for now it
 * answers {@code --help} and {@code --version}.
 *
 * <p>Exit codes: 0 success, 2 usage error.
 */
@Command(
        name = "bgctl",
        mixinStandardHelpOptions = true,
        versionProvider = Bgctl.Version.class,
        usageHelpAutoWidth = true,
        description = {
                "Operate a running bluegreen proxy: see and change which cluster serves traffic.",
                "",
                "bgctl talks to the proxy's admin HTTP API (127.0.0.1:9432 by default). The commands "
                        + "(status, set-weight, rollout, rollback, cutover, ...) arrive in a later release; "
                        + "this version only reports its version.",
        },
        optionListHeading = "%nOptions:%n",
        footerHeading = "%nExit codes:%n",
        footer = {"  0  success", "  2  usage error"})
public final class Bgctl implements Callable<Integer> {

    /** Exit code for a command line that cannot be understood. */
    public static final int EXIT_USAGE = CommandLine.ExitCode.USAGE;

    @Spec CommandSpec spec;

    public static void main(String[] args) {
        System.exit(new CommandLine(new Bgctl()).execute(args));
    }

    /** Without a command there is nothing to do: show the usage and report a usage error. */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return EXIT_USAGE;
    }

    /** {@code bgctl <version>}, the project version filtered into a resource at build time. */
    static final class Version implements CommandLine.IVersionProvider {

        @Override
        public String[] getVersion() {
            return new String[] {"bgctl " + projectVersion()};
        }

        static String projectVersion() {
            Properties p = new Properties();
            try (InputStream in = Bgctl.class.getResourceAsStream("version.properties")) {
                if (in == null) {
                    return "unknown";
                }
                p.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return p.getProperty("version", "unknown");
        }
    }
}
