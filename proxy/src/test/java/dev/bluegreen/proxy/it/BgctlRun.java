package dev.bluegreen.proxy.it;

import dev.bluegreen.cli.Bgctl;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.util.Map;

/** bgctl run in this JVM against a test proxy's admin API, as an operator would from a shell. */
final class BgctlRun {

    /** What one bgctl command printed and its exit code. */
    record Result(int exit, String out, String err) {}

    private BgctlRun() {}

    static Result bgctl(InetSocketAddress admin, String token, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        Map<String, String> env = Map.of("BLUEGREEN_ADMIN_URL", "http://127.0.0.1:" + admin.getPort(),
                "BLUEGREEN_ADMIN_TOKEN", token);
        int exit = Bgctl.execute(env, "operator", new PrintWriter(out), new PrintWriter(err), args);
        return new Result(exit, out.toString(), err.toString());
    }
}
