package dev.bluegreen.bench.driver;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The line protocol between the harness and {@link ProxyDriver}: one command per line on the driver's
 * stdin, exactly one reply line per command on its stdout, starting with {@link #PREFIX} so that it
 * stands out among the proxy's own output. Nothing here touches the proxy's classes, so the harness
 * can use it and still never load them.
 *
 * <pre>
 * start       → bench-control ok epoch=2 phase=DUAL weight=0 in-sync=true blue-units=0 green-units=0 divergences=0
 * weight 50   → bench-control ok epoch=3 phase=DUAL weight=50 ...
 * abort       → bench-control ok epoch=4 phase=BLUE weight=0 in-sync=false ...
 * state       → bench-control ok ... (no change)
 * weight 50   → bench-control refused green is out of sync: it missed writes and must not serve reads
 * </pre>
 */
public final class ControlProtocol {

    public static final String PREFIX = "bench-control ";

    /** The driver's main class, named without loading it. */
    public static final String DRIVER_CLASS = "dev.bluegreen.bench.driver.ProxyDriver";

    private static final String OK = "ok";
    private static final String REFUSED = "refused";
    private static final List<String> STATE_KEYS = List.of(
            "epoch", "phase", "weight", "in-sync", "blue-units", "green-units", "divergences");

    private ControlProtocol() {
    }

    /** What the harness asks of the proxy's routing control. */
    public sealed interface Command {

        /** The line as sent. */
        String line();

        /** Parses a line as sent; throws IllegalArgumentException for anything else. */
        static Command parse(String line) {
            String[] words = line.strip().split("\\s+");
            switch (words[0]) {
                case "start" -> {
                    if (words.length == 1) {
                        return new Start();
                    }
                }
                case "abort" -> {
                    if (words.length == 1) {
                        return new Abort();
                    }
                }
                case "state" -> {
                    if (words.length == 1) {
                        return new Status();
                    }
                }
                case "weight" -> {
                    if (words.length == 2 && words[1].matches("\\d{1,3}")) {
                        return new SetWeight(Integer.parseInt(words[1]));
                    }
                }
                default -> {
                    // reported below
                }
            }
            throw new IllegalArgumentException("not a command: '" + line.strip()
                    + "' (start, weight N, abort or state)");
        }
    }

    /** Dual-write on, blue leading, weight 0. */
    public record Start() implements Command {
        @Override
        public String line() {
            return "start";
        }
    }

    /** Green's share of reads, 0–100; the proxy decides whether it may. */
    public record SetWeight(int weight) implements Command {
        @Override
        public String line() {
            return "weight " + weight;
        }
    }

    /** Dual-write off, blue alone. */
    public record Abort() implements Command {
        @Override
        public String line() {
            return "abort";
        }
    }

    /** Changes nothing; the reply says where things stand. */
    public record Status() implements Command {
        @Override
        public String line() {
            return "state";
        }
    }

    /**
     * The routing state and the dual-write engine's counters since the proxy started.
     *
     * @param phase the proxy's phase name: BLUE, DUAL, CUTOVER or GREEN
     * @param inSync the follower has every write the leader committed since dual-write began
     * @param blueUnits units whose answer the client got from blue
     * @param greenUnits units whose answer the client got from green
     */
    public record State(long epoch, String phase, int weight, boolean inSync, long blueUnits, long greenUnits,
                        long divergences) {

        public boolean blueAlone() {
            return phase.equals("BLUE");
        }

        public boolean dualWrite() {
            return phase.equals("DUAL");
        }

        String fields() {
            return "epoch=" + epoch + " phase=" + phase + " weight=" + weight + " in-sync=" + inSync
                    + " blue-units=" + blueUnits + " green-units=" + greenUnits + " divergences=" + divergences;
        }

        static State parseFields(String text) {
            Map<String, String> fields = new LinkedHashMap<>();
            for (String pair : text.strip().split("\\s+")) {
                int equals = pair.indexOf('=');
                if (equals <= 0) {
                    throw new IllegalArgumentException("not key=value: '" + pair + "'");
                }
                fields.put(pair.substring(0, equals), pair.substring(equals + 1));
            }
            if (!List.copyOf(fields.keySet()).equals(STATE_KEYS)) {
                throw new IllegalArgumentException("state fields " + fields.keySet() + ", expected " + STATE_KEYS);
            }
            String inSync = fields.get("in-sync");
            if (!inSync.equals("true") && !inSync.equals("false")) {
                throw new IllegalArgumentException("in-sync is '" + inSync + "'");
            }
            return new State(Long.parseLong(fields.get("epoch")), fields.get("phase"),
                    Integer.parseInt(fields.get("weight")), Boolean.parseBoolean(inSync),
                    Long.parseLong(fields.get("blue-units")), Long.parseLong(fields.get("green-units")),
                    Long.parseLong(fields.get("divergences")));
        }
    }

    /** The driver's answer to one command. */
    public sealed interface Reply {

        /** The line as sent, prefix included. */
        String line();

        /** Parses a line that starts with {@link #PREFIX}; throws IllegalArgumentException otherwise. */
        static Reply parse(String line) {
            if (!line.startsWith(PREFIX)) {
                throw new IllegalArgumentException("not a control reply: '" + line + "'");
            }
            String rest = line.substring(PREFIX.length());
            int space = rest.indexOf(' ');
            String kind = space < 0 ? rest : rest.substring(0, space);
            String body = space < 0 ? "" : rest.substring(space + 1);
            return switch (kind) {
                case OK -> new Ok(State.parseFields(body));
                case REFUSED -> new Refused(body);
                default -> throw new IllegalArgumentException("unknown reply '" + kind + "' in '" + line + "'");
            };
        }
    }

    /** The command took effect (or asked for nothing); the state after it. */
    public record Ok(State state) implements Reply {
        @Override
        public String line() {
            return PREFIX + OK + " " + state.fields();
        }
    }

    /** The proxy refused the command, or the driver could not carry it out; the reason, on one line. */
    public record Refused(String reason) implements Reply {

        public Refused {
            reason = reason == null || reason.isBlank() ? "(no reason given)" : reason.strip().replaceAll("\\s+", " ");
        }

        @Override
        public String line() {
            return PREFIX + REFUSED + " " + reason;
        }
    }
}
