package dev.bluegreen.proxy.routing;

import java.util.EnumSet;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/** The classification of one statement while its readers build it up; starts as a write with no traits. */
final class Verdict {

    private Kind kind = Kind.WRITE;
    private final EnumSet<Trait> traits = EnumSet.noneOf(Trait.class);
    private Optional<String> tenant = Optional.empty();
    private Set<String> customSettings = Set.of();

    Verdict read() {
        kind = Kind.READ;
        return this;
    }

    Verdict write() {
        kind = Kind.WRITE;
        return this;
    }

    Verdict kind(Kind kind) {
        this.kind = kind;
        return this;
    }

    Kind kind() {
        return kind;
    }

    Verdict add(Trait trait) {
        traits.add(trait);
        return this;
    }

    Verdict addAll(Classification other) {
        traits.addAll(other.traits());
        if (other.has(Trait.TENANT_SETTING)) {
            tenant = other.tenant();
        }
        other.customSettings().forEach(this::customSetting);
        return this;
    }

    /** Records that a dotted (custom) setting is set or reset: {@code name} as the server folds it. */
    Verdict customSetting(String name) {
        if (customSettings.isEmpty()) {
            customSettings = new HashSet<>(2);
        }
        customSettings.add(name);
        return this;
    }

    boolean has(Trait trait) {
        return traits.contains(trait);
    }

    /** Records a {@code bluegreen.tenant} change; a blank value clears the tenant. */
    Verdict tenant(String value) {
        traits.add(Trait.TENANT_SETTING);
        tenant = value == null || value.isBlank() ? Optional.empty() : Optional.of(value);
        return this;
    }

    Verdict unparseable() {
        kind = Kind.WRITE;
        traits.add(Trait.UNPARSEABLE);
        return this;
    }

    Classification toClassification() {
        return new Classification(kind, traits, 1, tenant, customSettings);
    }
}
