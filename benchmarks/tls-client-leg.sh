#!/usr/bin/env bash
# The client leg over TLS: pgbench -S through bluegreen and through PgBouncer (session mode), each with TLS from the
# client (sslmode=require) and without, taking turns, in front of one blue (the embedded default's, started by the
# proxy). Prints each run's throughput and, per round, bluegreen / PgBouncer with and without TLS.
#   benchmarks/tls-client-leg.sh [proxy.jar] [seconds] [clients] [rounds] [prepared|simple]
# Needs pgbench, pgbouncer, openssl and bc, and a JDK 21+ in JAVA_HOME. Run as root, PgBouncer runs as nobody.
set -euo pipefail
cd "$(dirname "$0")/.."
jar=${1:-proxy/target/bluegreen-proxy.jar}; seconds=${2:-10}; clients=${3:-16}; rounds=${4:-3}; mode=${5:-prepared}
java="${JAVA_HOME:?set JAVA_HOME to a JDK 21+}/bin/java"
work=$(mktemp -d "${TMPDIR:-/tmp}/bluegreen-tls.XXXXXX")
chmod 755 "$work"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -subj /CN=127.0.0.1 -days 1 \
    2> /dev/null
chmod 644 "$work/key.pem"
echo "client_tls: { cert_file: $work/cert.pem, key_file: $work/key.pem }" > "$work/tls.yaml"
"$java" -jar "$jar" --embedded --state-dir "$work/state" --config "$work/tls.yaml" > "$work/proxy.log" 2>&1 &
proxy=$!
bouncer_pid="$work/bouncer/pgbouncer.pid"
cleanup() {
  [ -f "$bouncer_pid" ] && kill "$(cat "$bouncer_pid")" 2> /dev/null || true
  kill "$proxy" 2> /dev/null || true
  wait "$proxy" 2> /dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 120); do grep -q "Ctrl-C" "$work/proxy.log" && break; sleep 1; done
blue=$(sed -n 's/.*blue   PostgreSQL .* at 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$work/proxy.log")
password=$(cat "$work/state/embedded/superuser-password")
mkdir "$work/bouncer"
cat > "$work/bouncer/pgbouncer.ini" <<INI
[databases]
postgres = host=127.0.0.1 port=$blue dbname=postgres user=postgres password=$password
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = 6435
auth_type = trust
auth_file = $work/bouncer/users.txt
pool_mode = session
max_client_conn = 200
default_pool_size = 64
client_tls_sslmode = allow
client_tls_key_file = $work/key.pem
client_tls_cert_file = $work/cert.pem
logfile = $work/bouncer/pgbouncer.log
pidfile = $bouncer_pid
INI
echo '"postgres" ""' > "$work/bouncer/users.txt"
if [ "$(id -u)" = 0 ]; then
  chown -R nobody "$work/bouncer"
  runuser -u nobody -- pgbouncer -d "$work/bouncer/pgbouncer.ini"
else
  pgbouncer -d "$work/bouncer/pgbouncer.ini"
fi
for _ in $(seq 1 30); do [ -f "$bouncer_pid" ] && break; sleep 1; done
pgbench -h 127.0.0.1 -p 6432 -U postgres -i -s 10 -q postgres > "$work/init.log" 2>&1

tps() { # sslmode port seconds
  PGSSLMODE=$1 pgbench -h 127.0.0.1 -p "$2" -U postgres -S -M "$mode" -c "$clients" -j 2 -T "$3" postgres 2> /dev/null \
      | sed -n 's/^tps = \([0-9]*\).*/\1/p'
}
for sslmode in require disable; do # warm both up, the JIT's TLS paths included
  tps "$sslmode" 6432 5 > /dev/null
  tps "$sslmode" 6435 5 > /dev/null
done
echo "pgbench -S -M $mode, $clients clients, ${seconds} s runs, taking turns (tps)"
for round in $(seq 1 "$rounds"); do
  bg_tls=$(tps require 6432 "$seconds"); pb_tls=$(tps require 6435 "$seconds")
  bg_plain=$(tps disable 6432 "$seconds"); pb_plain=$(tps disable 6435 "$seconds")
  echo "round $round: TLS bluegreen $bg_tls pgbouncer $pb_tls ($(echo "scale=2; $bg_tls / $pb_tls" | bc))," \
       "plain bluegreen $bg_plain pgbouncer $pb_plain ($(echo "scale=2; $bg_plain / $pb_plain" | bc))"
done
