package dev.bluegreen.proxy.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.proxy.protocol.BackendKeyData;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

/** Cancel keys name the instance that minted them when peering is on, and nothing when it is off. */
class CancelKeysTest {

    @Test
    void withPeeringAKeyCarriesItsInstanceAndStaysAPositiveProcessId() {
        for (int instance : new int[] {1, 2, 255}) {
            CancelKeys keys = new CancelKeys(new SecureRandom(), instance);
            for (int i = 0; i < 1000; i++) {
                BackendKeyData key = keys.mint(null);
                assertThat(key.processId()).isPositive();
                assertThat(keys.instanceOf(key.processId())).isEqualTo(instance);
                assertThat(new CancelKeys(new SecureRandom(), 7).instanceOf(key.processId())).as("read by a peer")
                        .isEqualTo(instance);
            }
        }
    }

    @Test
    void withoutPeeringNoKeyNamesAnInstance() {
        CancelKeys keys = new CancelKeys(new SecureRandom());
        assertThat(keys.instanceOf(keys.mint(null).processId())).isZero();
        assertThat(keys.instanceOf(Integer.MAX_VALUE)).isZero();
    }

    /** A forwarded request counts its hops down in the key, so that instances whose peers disagree cannot loop. */
    @Test
    void aKeyAllowsThreeHopsAndStillNamesItsInstanceAfterThem() {
        CancelKeys keys = new CancelKeys(new SecureRandom(), 9);
        int processId = keys.mint(null).processId();

        assertThat(CancelKeys.hopsLeft(processId)).isEqualTo(CancelKeys.HOPS);
        int once = CancelKeys.forwarded(processId);
        int thrice = CancelKeys.forwarded(CancelKeys.forwarded(once));
        assertThat(CancelKeys.hopsLeft(once)).isEqualTo(2);
        assertThat(CancelKeys.hopsLeft(thrice)).isZero();
        assertThat(keys.instanceOf(thrice)).isEqualTo(9);
        assertThat(thrice & ((1 << 21) - 1)).as("the session part").isEqualTo(processId & ((1 << 21) - 1));
    }
}
