package dev.bluegreen.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bluegreen.config.References.Scalar;
import java.math.BigInteger;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.regex.Pattern;

/**
 * Typed, path-aware reads from one YAML mapping. Every read that fails records a problem at the
 * key's path and returns empty, so loading carries on and reports everything; {@link #finish()}
 * then reports the keys nobody asked for.
 */
final class Mapping {

    private static final Pattern INTEGER = Pattern.compile("[+-]?\\d+");

    private final ObjectNode node;
    private final String path;
    private final Problems problems;
    private final References references;
    private final Set<String> known = new HashSet<>();

    Mapping(ObjectNode node, String path, Problems problems, References references) {
        this.node = node;
        this.path = path;
        this.problems = problems;
        this.references = references;
    }

    String path() {
        return path;
    }

    Problems problems() {
        return problems;
    }

    String pathOf(String key) {
        return Problems.child(path, key);
    }

    /** Whether the key is present with a non-null value. */
    boolean has(String key) {
        known.add(key);
        JsonNode value = node.get(key);
        return value != null && !value.isNull();
    }

    /** Whether the key holds a nested mapping (rather than a value or a list). */
    boolean isMapping(String key) {
        known.add(key);
        return node.get(key) instanceof ObjectNode;
    }

    /** Accepts the key without reading it (a command-line flag replaces it). */
    void skip(String key) {
        known.add(key);
    }

    /** Reports every key that no read or {@link #skip} asked for. */
    void finish() {
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            if (!known.contains(field.getKey())) {
                problems.add(pathOf(field.getKey()), "unknown key");
            }
        }
    }

    Optional<Scalar> scalar(String key) {
        if (!has(key)) {
            return Optional.empty();
        }
        return scalarOf(node.get(key), pathOf(key));
    }

    private Optional<Scalar> scalarOf(JsonNode value, String at) {
        if (value.isTextual()) {
            return references.resolve(value.textValue(), at, problems);
        }
        if (value.isValueNode()) {
            return Optional.of(new Scalar(value.asText(), null));
        }
        problems.add(at, "expected a value, got " + (value.isArray() ? "a list" : "a mapping"));
        return Optional.empty();
    }

    /** A non-empty string. */
    Optional<String> string(String key) {
        return text(key).map(Scalar::value);
    }

    /** A non-empty string with the reference it came from, if any, for messages that must name it. */
    Optional<Scalar> text(String key) {
        return scalar(key).flatMap(s -> nonEmpty(s, pathOf(key)));
    }

    /**
     * How a message names the value at {@code key}: by its reference ({@code ${env:CA_FILE}}) when it
     * came from one, since what a reference points at may be secret, else as {@code value} shows it.
     */
    String named(String key, Object value) {
        return fromReference(key) ? node.get(key).textValue() : String.valueOf(value);
    }

    /** Whether the value at {@code key} is written as a reference. */
    boolean fromReference(String key) {
        JsonNode raw = node.get(key);
        return raw != null && raw.isTextual() && References.isReference(raw.textValue());
    }

    private Optional<Scalar> nonEmpty(Scalar s, String at) {
        if (s.value().isEmpty()) {
            problems.add(at, s.reference() == null
                    ? "must not be empty"
                    : "must not be empty (the value of " + s.reference() + " is empty)");
            return Optional.empty();
        }
        return Optional.of(s);
    }

    /** A non-empty string held as a {@link Secret}; messages never show it. */
    Optional<Secret> secret(String key) {
        return string(key).map(Secret::of);
    }

    Optional<Integer> integer(String key, int min, int max) {
        return scalar(key).flatMap(s -> {
            String text = s.value().trim();
            if (!INTEGER.matcher(text).matches()) {
                problems.add(pathOf(key), "not a number " + s.shown());
                return Optional.empty();
            }
            // a number too long for a long is out of range on the side its sign says, not "not a number"
            BigInteger n = new BigInteger(text);
            if (n.compareTo(BigInteger.valueOf(min)) < 0) {
                problems.add(pathOf(key), max == Integer.MAX_VALUE
                        ? "must be at least " + min
                        : "must be between " + min + " and " + max);
                return Optional.empty();
            }
            if (n.compareTo(BigInteger.valueOf(max)) > 0) {
                problems.add(pathOf(key), "must be between " + min + " and " + max);
                return Optional.empty();
            }
            return Optional.of(n.intValue());
        });
    }

    Optional<Duration> duration(String key) {
        return scalar(key).flatMap(s -> {
            try {
                return Optional.of(Units.parseDuration(s.value()));
            } catch (IllegalArgumentException e) {
                problems.add(pathOf(key), "not a duration " + s.shown());
                return Optional.empty();
            }
        });
    }

    /** A size in bytes between {@code min} and {@code max}. */
    Optional<Integer> size(String key, long min, long max) {
        return scalar(key).flatMap(s -> {
            long bytes;
            try {
                bytes = Units.parseSize(s.value());
            } catch (ArithmeticException e) {
                bytes = Long.MAX_VALUE; // a well-formed size beyond a long's bytes: out of range below
            } catch (IllegalArgumentException e) {
                problems.add(pathOf(key), "not a size " + s.shown());
                return Optional.empty();
            }
            if (bytes < min || bytes > max) {
                problems.add(pathOf(key),
                        "must be between " + Units.formatSize(min) + " and " + Units.formatSize(max));
                return Optional.empty();
            }
            return Optional.of((int) bytes);
        });
    }

    /** {@code true} or {@code false} as YAML 1.2 spells them; not YAML 1.1's {@code yes}, {@code on} and so on. */
    Optional<Boolean> bool(String key) {
        return scalar(key).flatMap(s -> switch (s.value().trim()) {
            case "true", "True", "TRUE" -> Optional.of(true);
            case "false", "False", "FALSE" -> Optional.of(false);
            default -> {
                problems.add(pathOf(key), "expected true or false, got " + s.shown());
                yield Optional.empty();
            }
        });
    }

    Optional<HostPort> hostPort(String key) {
        return scalar(key).flatMap(s -> {
            try {
                return Optional.of(HostPort.parse(s.value()));
            } catch (IllegalArgumentException e) {
                problems.add(pathOf(key), s.reference() == null ? e.getMessage() : "expected HOST:PORT " + s.shown());
                return Optional.empty();
            }
        });
    }

    /** A file-system path (not checked for existence here). */
    Optional<Path> file(String key) {
        return string(key).flatMap(s -> {
            try {
                return Optional.of(Path.of(s));
            } catch (InvalidPathException e) {
                problems.add(pathOf(key), "not a valid path");
                return Optional.empty();
            }
        });
    }

    /** A nested mapping; reports a value of another shape. */
    Optional<Mapping> mapping(String key) {
        if (!has(key)) {
            return Optional.empty();
        }
        JsonNode value = node.get(key);
        if (!(value instanceof ObjectNode object)) {
            problems.add(pathOf(key), "expected a mapping");
            return Optional.empty();
        }
        return Optional.of(new Mapping(object, pathOf(key), problems, references));
    }

    /** A list of mappings, each with its {@code key[i]} path; other elements are reported. */
    Optional<List<Mapping>> listOfMappings(String key) {
        if (!has(key)) {
            return Optional.empty();
        }
        JsonNode value = node.get(key);
        if (!value.isArray()) {
            problems.add(pathOf(key), "expected a list");
            return Optional.empty();
        }
        List<Mapping> items = new ArrayList<>();
        for (int i = 0; i < value.size(); i++) {
            String at = pathOf(key) + "[" + i + "]";
            if (value.get(i) instanceof ObjectNode object) {
                items.add(new Mapping(object, at, problems, references));
            } else {
                problems.add(at, "expected a mapping");
            }
        }
        return Optional.of(items);
    }

    /** A mapping of non-empty strings to non-empty strings, in file order. */
    Optional<Map<String, String>> stringMap(String key) {
        return valueMap(key, (value, at) -> Optional.of(value.value()));
    }

    /**
     * A mapping of non-empty names to non-empty values, in file order, each value turned into a {@code T}
     * by {@code read}, which is given the value's path and reports its own problems (returning empty).
     */
    <T> Optional<Map<String, T>> valueMap(String key, BiFunction<Scalar, String, Optional<T>> read) {
        return mapping(key).map(m -> {
            Map<String, T> result = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> field : m.node.properties()) {
                m.known.add(field.getKey());
                String at = m.pathOf(field.getKey());
                if (field.getKey().isEmpty()) {
                    problems.add(at, "an empty name cannot be mapped");
                    continue;
                }
                if (field.getValue().isNull()) {
                    problems.add(at, "must not be empty");
                    continue;
                }
                scalarOf(field.getValue(), at)
                        .flatMap(s -> nonEmpty(s, at))
                        .flatMap(s -> read.apply(s, at))
                        .ifPresent(value -> result.put(field.getKey(), value));
            }
            return result;
        });
    }

    /**
     * A list of non-empty values, each turned into a {@code T} by {@code read}, which is given the value's
     * {@code key[i]} path and reports its own problems (returning empty).
     */
    <T> Optional<List<T>> valueList(String key, BiFunction<Scalar, String, Optional<T>> read) {
        if (!has(key)) {
            return Optional.empty();
        }
        JsonNode value = node.get(key);
        if (!value.isArray()) {
            problems.add(pathOf(key), "expected a list");
            return Optional.empty();
        }
        List<T> items = new ArrayList<>();
        for (int i = 0; i < value.size(); i++) {
            String at = pathOf(key) + "[" + i + "]";
            if (value.get(i).isNull()) {
                problems.add(at, "must not be empty");
                continue;
            }
            scalarOf(value.get(i), at)
                    .flatMap(s -> nonEmpty(s, at))
                    .flatMap(s -> read.apply(s, at))
                    .ifPresent(items::add);
        }
        return Optional.of(items);
    }
}
