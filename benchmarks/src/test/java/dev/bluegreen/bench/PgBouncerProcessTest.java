package dev.bluegreen.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class PgBouncerProcessTest {

    @Test
    void theIniPutsPgBouncerInSessionModeOnTheLoopbackInFrontOfBlue() {
        Endpoint blue = new Endpoint("127.0.0.1", 5433, "postgres", "postgres");

        String ini = PgBouncerProcess.ini(Path.of("/var/tmp/b"), 6500, blue, 64);

        assertThat(ini).contains(
                "[databases]\npostgres = host=127.0.0.1 port=5433 dbname=postgres\n",
                "listen_addr = 127.0.0.1\n",
                "listen_port = 6500\n",
                "pool_mode = session\n",
                "default_pool_size = 64\n",
                "max_client_conn = 256\n",
                "auth_file = /var/tmp/b/userlist.txt\n",
                "logfile = /var/tmp/b/pgbouncer.log\n",
                "pidfile = /var/tmp/b/pgbouncer.pid\n");
    }
}
