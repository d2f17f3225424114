package dev.bluegreen.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * {@code bgctl}: the operator's command line for a running bluegreen proxy. It talks only to the
 * proxy's admin HTTP API; every command is one or two requests, and the proxy decides (a refused
 * command comes back with the proxy's reason).
 *
 * <p>The connection options are inherited by every subcommand, so they may stand anywhere on the
 * command line; they are resolved once, into an {@link AdminTarget}, when a command first needs it.
 * Exit codes: 0 done, 1 refused by the proxy, 2 usage, 3 proxy unreachable, 4 verify found differences.
 */
@Command(
        name = "bgctl",
        mixinStandardHelpOptions = true,
        scope = ScopeType.INHERIT,
        versionProvider = Bgctl.Version.class,
        usageHelpAutoWidth = true,
        description = {
                "Operate a running bluegreen proxy: see and change which cluster serves traffic.",
                "",
                "bgctl talks to the proxy's admin HTTP API (http://127.0.0.1:9432 by default) with the "
                        + "bearer token the proxy uses: --token-file FILE, else $BLUEGREEN_ADMIN_TOKEN, "
                        + "else the admin-token file the proxy wrote into its state directory.",
        },
        subcommands = {
                StatusCommand.class,
                ChangeCommands.Start.class,
                ChangeCommands.SetWeight.class,
                ChangeCommands.Step.class,
                RolloutCommand.class,
                ChangeCommands.Pause.class,
                ChangeCommands.Resume.class,
                ChangeCommands.Rollback.class,
                ChangeCommands.Cutover.class,
                ChangeCommands.Finalize.class,
                ChangeCommands.Abort.class,
                ChangeCommands.Freeze.class,
                ChangeCommands.Unfreeze.class,
                ReadCommands.History.class,
                ReadCommands.Divergences.class,
                VerifyCommand.class,
                AutoComplete.GenerateCompletion.class,
        },
        synopsisSubcommandLabel = "COMMAND",
        commandListHeading = "%nCommands:%n",
        optionListHeading = "%nOptions:%n",
        footerHeading = "%nExit codes:%n",
        footer = {
                "  0  done",
                "  1  refused by the proxy (its reason is printed), or the token was refused",
                "  2  usage error (also when the proxy finds a request malformed, HTTP 400)",
                "  3  cannot reach the proxy's admin API",
                "  4  verify found tables, sequences or large objects that differ between blue and green (or sequences it may not read)",
        })
public final class Bgctl implements Callable<Integer> {

    /** Exit code for a command line that cannot be understood. */
    public static final int EXIT_USAGE = CommandLine.ExitCode.USAGE;

    static final String DEFAULT_STATE_DIR = "./.bluegreen";

    @Spec CommandSpec spec;

    // no defaultValue on inherited options: a subcommand would apply it again over a value given before it
    @Option(names = "--url", paramLabel = "URL", scope = ScopeType.INHERIT,
            description = "The proxy's admin API (default: $BLUEGREEN_ADMIN_URL, else " + AdminTarget.DEFAULT_URL + ").")
    String url;

    @Option(names = "--token-file", paramLabel = "FILE", scope = ScopeType.INHERIT,
            description = "File holding the admin bearer token (default: $BLUEGREEN_ADMIN_TOKEN holds the token "
                    + "itself, else DIR/admin-token).")
    Path tokenFile;

    @Option(names = "--state-dir", paramLabel = "DIR", scope = ScopeType.INHERIT,
            description = "The proxy's state directory, where it writes admin-token when given no token "
                    + "(default: .bluegreen in the current directory).")
    Path stateDir;

    private final Map<String, String> env;
    private final String osUser;

    public Bgctl() {
        this(System.getenv(), System.getProperty("user.name", "unknown"));
    }

    /** For tests: the environment and the operating-system user are inputs, not globals. */
    Bgctl(Map<String, String> env, String osUser) {
        this.env = Map.copyOf(env);
        this.osUser = osUser;
    }

    public static void main(String[] args) {
        System.exit(execute(System.getenv(), System.getProperty("user.name", "unknown"),
                new PrintWriter(System.out, true, System.out.charset()),
                new PrintWriter(System.err, true, System.err.charset()), args));
    }

    /**
     * Runs one bgctl command as {@link #main} does, with the same messages and exit codes, but returns
     * the exit code instead of ending the process: for tests in other modules and for tools that embed
     * bgctl. Nothing is read from the process environment or written to System.out and System.err.
     *
     * @param env    stands for the process environment ({@code BLUEGREEN_ADMIN_URL}, {@code BLUEGREEN_ADMIN_TOKEN})
     * @param osUser the operating-system user, named in the history as {@code bgctl:<osUser>}
     * @return 0 done, 1 refused, 2 usage, 3 unreachable
     */
    public static int execute(Map<String, String> env, String osUser, PrintWriter out, PrintWriter err,
                              String... args) {
        CommandLine cmd = commandLine(new Bgctl(env, osUser));
        cmd.setOut(out);
        cmd.setErr(err);
        try {
            return cmd.execute(args);
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** The command line with bgctl's failures mapped to their exit codes and printed without a trace. */
    static CommandLine commandLine(Bgctl bgctl) {
        CommandLine cmd = new CommandLine(bgctl);
        cmd.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof BgctlException failure) {
                commandLine.getErr().println("bgctl: " + failure.getMessage());
                commandLine.getErr().flush();
                return failure.exitCode();
            }
            throw e;
        });
        return cmd;
    }

    /** Without a command there is nothing to do: show the usage and report a usage error. */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return EXIT_USAGE;
    }

    /** A client for this run's admin API; the caller closes it. */
    AdminClient client() {
        return new AdminClient(AdminTarget.resolve(url, tokenFile,
                stateDir != null ? stateDir : Path.of(DEFAULT_STATE_DIR), env));
    }

    /** Who the history names for commands from this run. */
    String actor() {
        return "bgctl:" + osUser;
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
