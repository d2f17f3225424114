package dev.bluegreen.proxy.auth;

/**
 * What the proxy proves its login as a role to a cluster with: the password, or, where the configuration gives the
 * secret PostgreSQL stores for it instead, that secret, which answers one method only.
 */
public sealed interface BackendCredential {

    /** The password itself: answers cleartext, md5 and SCRAM-SHA-256. */
    record Password(String password) implements BackendCredential {
        @Override
        public String toString() {
            return "Password[***]";
        }
    }

    /** {@code md5} and md5hex(password + user), as {@code pg_authid} holds it: answers md5 alone. */
    record Md5Secret(String secret) implements BackendCredential {
        @Override
        public String toString() {
            return "Md5Secret[***]";
        }
    }

    /**
     * A SCRAM-SHA-256 secret with the ClientKey the client's own SCRAM login to the proxy proved: answers SCRAM-SHA-256
     * alone, to a cluster that stores the same secret for the role.
     */
    record ScramKeys(ScramVerifier secret, byte[] clientKey) implements BackendCredential {
        public ScramKeys {
            clientKey = clientKey.clone();
        }

        @Override
        public byte[] clientKey() {
            return clientKey.clone();
        }

        @Override
        public String toString() {
            return "ScramKeys[***]";
        }
    }
}
