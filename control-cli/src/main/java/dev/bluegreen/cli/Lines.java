package dev.bluegreen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** Label-value lines with the values aligned, as every view of bgctl prints them. */
final class Lines {

    private final String indent;
    private final List<String[]> lines = new ArrayList<>();

    Lines() {
        this("");
    }

    Lines(String indent) {
        this.indent = indent;
    }

    void add(String label, String value) {
        lines.add(new String[] {label, value});
    }

    /** The field formatted, when it is there and not null. */
    void addIf(JsonNode node, String field, String label, Function<JsonNode, String> format) {
        JsonNode value = node.get(field);
        if (value != null && !value.isNull()) {
            add(label, format.apply(value));
        }
    }

    @Override
    public String toString() {
        int width = lines.stream().mapToInt(l -> l[0].length()).max().orElse(0) + 2;
        StringBuilder out = new StringBuilder();
        for (String[] line : lines) {
            out.append(indent).append(Views.pad(line[0], width)).append(line[1]).append('\n');
        }
        return out.toString();
    }
}
