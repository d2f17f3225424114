package dev.bluegreen.cli;

/**
 * Why a bgctl command ended without doing its work, and the exit code that says so to a script.
 * Every failure the operator can act on is one of these; its message is printed as it is, without a
 * stack trace.
 */
final class BgctlException extends RuntimeException {

    /** The proxy answered and said no (409), did not accept the token (401) or failed the request. */
    static final int EXIT_REFUSED = 1;
    /** The command line, or a request the proxy found malformed (400). */
    static final int EXIT_USAGE = 2;
    /** No answer from the admin API at all. */
    static final int EXIT_UNREACHABLE = 3;
    /** {@code verify} ran and found tables that differ between blue and green (not thrown: a result). */
    static final int EXIT_DIFFERENT = 4;

    private final int exitCode;
    private final boolean passing;

    private BgctlException(int exitCode, String message) {
        this(exitCode, message, false);
    }

    private BgctlException(int exitCode, String message, boolean passing) {
        super(message, null, false, false);
        this.exitCode = exitCode;
        this.passing = passing;
    }

    /** The proxy answered with a server error (5xx): a command fails with it, a watch tries again. */
    static BgctlException serverError(String reason) {
        return new BgctlException(EXIT_REFUSED, reason, true);
    }

    /** Whether trying again later may do (the proxy unreachable, or failing for now), for commands that watch. */
    boolean passing() {
        return passing || exitCode == EXIT_UNREACHABLE;
    }

    static BgctlException refused(String reason) {
        return new BgctlException(EXIT_REFUSED, reason);
    }

    static BgctlException usage(String problem) {
        return new BgctlException(EXIT_USAGE, problem);
    }

    static BgctlException unreachable(String problem) {
        return new BgctlException(EXIT_UNREACHABLE, problem);
    }

    int exitCode() {
        return exitCode;
    }
}
