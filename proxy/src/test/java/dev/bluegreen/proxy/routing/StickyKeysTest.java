package dev.bluegreen.proxy.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.Optional;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class StickyKeysTest {

    private static final Map<String, String> STARTUP = Map.of(
            "user", "alice",
            "database", "shop",
            "application_name", "billing-worker",
            "bluegreen.tenant", "acme");

    @Test
    void eachSourceReadsItsOwnStartupParameter() {
        assertThat(TenantSource.APPLICATION_NAME.tenantOf(STARTUP)).contains("billing-worker");
        assertThat(TenantSource.USER.tenantOf(STARTUP)).contains("alice");
        assertThat(TenantSource.DATABASE.tenantOf(STARTUP)).contains("shop");
        assertThat(TenantSource.TENANT_PARAMETER.tenantOf(STARTUP)).contains("acme");
        assertThat(new TenantSource("X-Customer").tenantOf(Map.of("x-customer", "initech"))).contains("initech");
    }

    @Test
    void theDatabaseDefaultsToTheUserAsTheServerDoes() {
        assertThat(TenantSource.DATABASE.tenantOf(Map.of("user", "alice"))).contains("alice");
    }

    @Test
    void aMissingOrBlankParameterMeansNoTenant() {
        assertThat(TenantSource.APPLICATION_NAME.tenantOf(Map.of("user", "alice"))).isEmpty();
        assertThat(TenantSource.APPLICATION_NAME.tenantOf(Map.of("application_name", " "))).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "-c bluegreen.tenant=acme                        | acme",
        "-cbluegreen.tenant=acme                         | acme",
        "--bluegreen.tenant=acme                         | acme",
        "-c statement_timeout=5s -c bluegreen.tenant=acme | acme",
        "-c bluegreen.tenant=big\\ corp                  | big corp",
        "-c bluegreen.tenant=a -c bluegreen.tenant=b     | b",
    })
    void aCustomParameterMayArriveInsideOptions(String options, String tenant) {
        assertThat(TenantSource.TENANT_PARAMETER.tenantOf(Map.of("user", "alice", "options", options)))
                .contains(tenant);
    }

    @Test
    void aParameterSentDirectlyWinsOverOptions() {
        Map<String, String> startup = Map.of("bluegreen.tenant", "direct", "options", "-c bluegreen.tenant=options");

        assertThat(TenantSource.TENANT_PARAMETER.tenantOf(startup)).contains("direct");
    }

    @Test
    void aSetTenantOverridesTheStartupSource() {
        StickyKeys keys = new StickyKeys(StickyMode.TENANT, TenantSource.APPLICATION_NAME);

        assertThat(keys.tenant(STARTUP, Optional.of("globex"))).contains("globex");
        assertThat(keys.tenant(STARTUP, Optional.empty())).contains("billing-worker");
        assertThat(keys.tenant(Map.of(), Optional.empty())).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "application_name        | application_name",
        "USER                    | user",
        "database                | database",
        "parameter:bluegreen.tenant | bluegreen.tenant",
        "parameter:X_Customer    | x_customer",
    })
    void theConfigurationFormNamesTheParameter(String text, String parameter) {
        assertThat(TenantSource.parse(text).parameter()).isEqualTo(parameter);
    }

    @Test
    void anUnknownConfigurationFormIsRefused() {
        assertThatThrownBy(() -> TenantSource.parse("hostname")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TenantSource.parse("parameter:")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void tenantModeKeysOnTheTenantAndFallsBackToTheSession() {
        StickyKeys keys = new StickyKeys(StickyMode.TENANT, TenantSource.TENANT_PARAMETER);

        assertThat(keys.unitKey(1, 1, Optional.of("acme"))).isEqualTo(keys.unitKey(2, 9, Optional.of("acme")));
        assertThat(keys.unitKey(1, 1, Optional.empty())).isEqualTo(StickyKeys.ofSession(1));
    }

    @Test
    void sessionModeIgnoresTheTenantAndTheUnit() {
        StickyKeys keys = new StickyKeys(StickyMode.SESSION, TenantSource.TENANT_PARAMETER);

        assertThat(keys.unitKey(7, 1, Optional.of("acme"))).isEqualTo(keys.unitKey(7, 2, Optional.empty()));
    }

    @Test
    void withoutStickinessEveryUnitHasItsOwnKey() {
        StickyKeys keys = new StickyKeys(StickyMode.NONE, TenantSource.TENANT_PARAMETER);

        assertThat(LongStream.range(0, 1_000).map(unit -> keys.unitKey(7, unit, Optional.empty())).distinct().count())
                .isEqualTo(1_000);
        assertThat(keys.unitKey(7, 0, Optional.empty())).isNotEqualTo(StickyKeys.ofSession(7));
    }

    @Test
    void aTenantsKeyIsTheSameOnEveryProxyInstance() {
        // FNV-1a 64 of "acme" then fmix64, computed independently in Python; its bucket is 61
        assertThat(StickyKeys.ofTenant("acme")).isEqualTo(0x3a25b6656ba9cfc6L);
        assertThat(RoutingPolicy.bucket(StickyKeys.ofTenant("acme"))).isEqualTo(61);
    }
}
