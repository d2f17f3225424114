package dev.bluegreen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** The commands that only read: one {@code GET /api/v1/<resource>}, printed for people or as JSON. */
final class ReadCommands {

    private ReadCommands() {}

    abstract static class Read implements Callable<Integer> {

        @ParentCommand Bgctl bgctl;
        @Spec CommandSpec spec;

        @Option(names = "--json", description = "Print the proxy's answer as JSON.")
        boolean json;

        abstract String resource();

        abstract String render(JsonNode answer);

        @Override
        public Integer call() throws InterruptedException {
            JsonNode answer;
            try (AdminClient client = bgctl.client()) {
                answer = client.get(resource());
            }
            PrintWriter out = spec.commandLine().getOut();
            out.print(json ? Json.pretty(answer) + System.lineSeparator() : render(answer));
            out.flush();
            return 0;
        }
    }

    @Command(name = "history", description = "Every change of the routing state, oldest first: when, who, what, why.")
    static final class History extends Read {

        @Override
        String resource() {
            return "history";
        }

        @Override
        String render(JsonNode answer) {
            return Views.history(answer);
        }
    }

    @Command(name = "divergences", description = {
            "Each time green did not do what blue did, and the statements only counted.",
            "Every divergence the proxy keeps (statement normalised, both outcomes, what differed), then the "
                    + "non-deterministic statements, which may differ between the clusters and are only counted."})
    static final class Divergences extends Read {

        @Override
        String resource() {
            return "divergences";
        }

        @Override
        String render(JsonNode answer) {
            return Views.divergences(answer);
        }
    }
}
