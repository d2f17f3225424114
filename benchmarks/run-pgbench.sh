#!/usr/bin/env bash
# Builds the proxy and the benchmarks jar, then runs the pgbench harness. Two tables by default:
#   relay  pgbench -S against blue directly, through bluegreen and through PgBouncer, side by side;
#   dual   at 16 clients, blue directly beside bluegreen with dual-write to green (PostgreSQL 18) off
#          and on: -S at weight 0, 50 and 100, and pgbench's TPC-B-like script; and blue and green
#          driven directly at once, the most dual-write could reach on this machine.
# Arguments go to the harness (--help lists them), e.g.
#   benchmarks/run-pgbench.sh --duration 30 --repeat 3
#   benchmarks/run-pgbench.sh --scenarios dual       # only the dual-write table
# Needs a JDK 21+ (picked like .ci/run does) and pgbench; PgBouncer is installed by the harness when
# missing and we are root.
set -euo pipefail
cd "$(dirname "$0")/.."

java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}' | cut -d. -f1; }

pick_jdk() {
  # a JDK, not a JRE: Maven needs javac
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/javac" ] && [ "$(java_major "$JAVA_HOME")" -ge 21 ]; then
    return
  fi
  if command -v java >/dev/null 2>&1; then
    local home
    home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
    if [ -x "$home/bin/javac" ] && [ "$(java_major "$home")" -ge 21 ]; then export JAVA_HOME="$home"; return; fi
  fi
  local best="" best_major=0 candidate major
  for candidate in /usr/lib/jvm/* /opt/java/* "${HOME:-/nonexistent}"/.sdkman/candidates/java/*; do
    [ -x "$candidate/bin/javac" ] || continue
    major=$(java_major "$candidate") || continue
    if [ "$major" -ge 21 ] && [ "$major" -gt "$best_major" ]; then best="$candidate"; best_major="$major"; fi
  done
  if [ -z "$best" ]; then
    echo "run-pgbench.sh: no JDK 21+ found; install one (e.g. apt-get install openjdk-21-jdk-headless)" >&2
    exit 1
  fi
  export JAVA_HOME="$best"
}

# Debian's /usr/bin/pgbench is a pg_wrapper link even where the program is missing: run it to know
runs_pgbench() { pgbench --version >/dev/null 2>&1; }

install_pgbench() {
  if runs_pgbench; then return; fi
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client >/dev/null
    # Debian ships pgbench in the server package (postgresql-NN), not in postgresql-client; the package is told
    # not to create and start a cluster of its own
    if ! runs_pgbench; then
      mkdir -p /etc/postgresql-common/createcluster.d
      echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/bluegreen-bench.conf
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    fi
  else
    echo "run-pgbench.sh: pgbench not found; install it (on Debian and Ubuntu it comes with the server package:" \
      "apt-get install postgresql; elsewhere with the PostgreSQL client tools)" >&2
    exit 1
  fi
}

pick_jdk
install_pgbench
export PATH="$JAVA_HOME/bin:$PATH"
echo "run-pgbench.sh: building with JAVA_HOME=$JAVA_HOME" >&2
./mvnw -B -q -ntp -DskipTests package -pl proxy,benchmarks -am
exec "$JAVA_HOME/bin/java" -cp benchmarks/target/benchmarks.jar dev.bluegreen.bench.PgbenchHarness "$@"
