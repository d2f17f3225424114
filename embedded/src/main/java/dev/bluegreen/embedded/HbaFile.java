package dev.bluegreen.embedded;

import java.util.ArrayList;
import java.util.List;

/**
 * The pg_hba.conf we write on request. Rules match first-wins, so the two lines we put ahead of
 * the caller's keep the harness's own superuser connection (readiness, reload, execute) working
 * whatever the caller's rules say; the caller's rules govern every other user.
 */
final class HbaFile {

    private HbaFile() {
    }

    static List<String> compose(String superuser, String superuserMethod, List<String> callerLines) {
        List<String> lines = new ArrayList<>();
        lines.add("# written by bluegreen embedded: the first two rules keep the harness's superuser access");
        lines.add("local all all trust");
        lines.add("host all " + quoted(superuser) + " 127.0.0.1/32 " + superuserMethod);
        lines.addAll(callerLines);
        return lines;
    }

    /** A role name as pg_hba.conf reads it: double quotes keep case and special characters literal. */
    static String quoted(String role) {
        return "\"" + role.replace("\"", "\"\"") + "\"";
    }
}
