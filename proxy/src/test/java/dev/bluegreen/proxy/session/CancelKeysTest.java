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
}
