#!/usr/bin/env bash
# Autocommit writes under dual-write through two proxy builds, taking turns: what a change to the ordering of
# autocommit writes and COMMITs costs. Each run starts the embedded default afresh (its own state directory),
# turns dual-write on at weight 0, runs one pgbench workload and prints its throughput beside the proxy's ordering
# counters (held COMMITs, waits that ran out, divergences).
#   benchmarks/ab-autocommit.sh A.jar B.jar [upsert|keyed|jobs|orders|bulk|rows|uuid|tpcb] [seconds] [clients] [rounds]
#   BLUEGREEN_JAVA_OPTS_B=-Dx=y ...   # JVM options for B only (A: BLUEGREEN_JAVA_OPTS_A)
#   BLUEGREEN_ARGS_B="--config f.yaml" ...   # proxy arguments for B only (A: BLUEGREEN_ARGS_A)
#   PGBENCH_MODE=simple ...                  # pgbench's query mode (default prepared)
# upsert: INSERT ... ON CONFLICT (k) DO UPDATE on 50 hot keys; keyed: the same into a table keyed by a bigserial id,
# on 1,000 keys, returning the id (each upsert draws an id, inserted or not; the follower draws what the leader
# drew, and a build without that diverges at once); jobs: the job queue of benchmarks/soak.sh (40 rows);
# orders: an ORM's insert into a bigserial table, the new id read back with RETURNING (the follower draws what the
# leader drew: docs/dual-write.md, "Values generated on the server"; with more than one client a build without
# that diverges within a second); bulk: the same, half the transactions inserting four rows at once (the follower
# is given the leader's ids); rows: the same, its four-row insert not returning the ids (the follower draws four
# values ending on the leader's last, the leader's own since such an insert runs there alone among the inserts into
# its table); uuid: a Rails
# insert into a table keyed by DEFAULT gen_random_uuid() returning "id", and half the time two rows at once (the
# follower is given the uuids the leader returned; a build without that diverges at the first insert); tpcb: pgbench's TPC-B-like script at scale 1, its tables made through the proxy
# after start (its history rows are stamped with CURRENT_TIMESTAMP, which the follower reads as the leader's).
# A run that diverged stops writing green from then on, so its throughput is not comparable: see its divergences.
# Needs pgbench, psql and curl, a JDK 21+ in JAVA_HOME, and the bgctl jar built (control-cli/target/bgctl.jar).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,10p' "$0" >&2; exit 2; }
jar_a=$1; jar_b=$2; workload=${3:-upsert}; seconds=${4:-15}; clients=${5:-8}; rounds=${6:-2}
java="${JAVA_HOME:?set JAVA_HOME to a JDK 21+}/bin/java"
bgctl_jar=control-cli/target/bgctl.jar
pg=(-h 127.0.0.1 -p 6432 -U postgres)

run() {
  local label=$1 jar=$2 opts=$3 args=$4 work proxy tps token counters
  work=$(mktemp -d "${TMPDIR:-/tmp}/bluegreen-ab.XXXXXX")
  # shellcheck disable=SC2086 # options and arguments are words
  "$java" $opts -jar "$jar" --embedded --state-dir "$work/state" $args > "$work/proxy.log" 2>&1 &
  proxy=$!
  for _ in $(seq 1 120); do grep -q "Ctrl-C" "$work/proxy.log" && break; sleep 1; done
  "$java" -jar "$bgctl_jar" --state-dir "$work/state" start --reason ab > /dev/null
  local script=(-f "$work/workload.sql")
  if [ "$workload" = tpcb ]; then
    pgbench "${pg[@]}" -q -i -I dtgp -s 1 postgres > "$work/init.log" 2>&1
    script=(-b tpcb-like)
  elif [ "$workload" = bulk ] || [ "$workload" = rows ]; then
    psql "${pg[@]}" -q postgres -c "create table orders (id bigserial primary key, v int not null);"
    printf '%s\n' "insert into orders (v) values (:client_id) returning id;" > "$work/workload.sql"
    local returning=''
    if [ "$workload" = bulk ]; then returning=' returning id'; fi
    printf '%s\n' "insert into orders (v) values (:client_id), (:client_id), (:client_id), (:client_id)$returning;" \
      > "$work/bulk.sql"
    script=(-f "$work/workload.sql" -f "$work/bulk.sql")
  elif [ "$workload" = uuid ]; then
    psql "${pg[@]}" -q postgres -c "create table accounts (id uuid primary key default gen_random_uuid(), v int not null);"
    printf '%s\n' "insert into accounts (v) values (:client_id) returning \"id\";" > "$work/workload.sql"
    printf '%s\n' "insert into accounts (v) values (:client_id), (:client_id) returning *;" > "$work/bulk.sql"
    script=(-f "$work/workload.sql" -f "$work/bulk.sql")
  elif [ "$workload" = orders ]; then
    psql "${pg[@]}" -q postgres -c "create table orders (id bigserial primary key, v int not null);"
    printf '%s\n' "insert into orders (v) values (:client_id) returning id;" > "$work/workload.sql"
  elif [ "$workload" = keyed ]; then
    psql "${pg[@]}" -q postgres -c "create table keyed (id bigserial primary key, k int not null unique, n int not null);"
    printf '%s\n' '\set k random(1, 1000)' \
      "insert into keyed (k, n) values (:k, 1) on conflict (k) do update set n = keyed.n + 1 returning id;" \
      > "$work/workload.sql"
  elif [ "$workload" = jobs ]; then
    psql "${pg[@]}" -q postgres -c "create table jobs (id int primary key, state text not null, runs int not null default 0);
      insert into jobs select g, 'queued', 0 from generate_series(1, 40) g;"
    printf '%s\n' '\set id random(1, 40)' \
      "update jobs set state = 'running', runs = runs + 1 where id = :id and state = 'queued';" \
      "update jobs set state = 'queued' where id = :id and state = 'running';" > "$work/workload.sql"
  else
    psql "${pg[@]}" -q postgres -c "create table hot (k int primary key, n int not null, tag text);"
    printf '%s\n' '\set k random(1, 50)' \
      "insert into hot values (:k, 1, 'a') on conflict (k) do update set n = hot.n + 1, tag = 'b';" > "$work/workload.sql"
  fi
  tps=$(pgbench "${pg[@]}" -n -c "$clients" -j 2 -T "$seconds" -M "${PGBENCH_MODE:-prepared}" "${script[@]}" postgres 2>&1 \
    | grep -o 'tps = [0-9.]*' | head -1 | cut -d' ' -f3)
  token=$(cat "$work/state/admin-token")
  counters=$(curl -s -H "Authorization: Bearer $token" http://127.0.0.1:9432/metrics \
    | awk '/^bluegreen_(commits_held_for_writes|commit_waits_ran_out|inserts_held_for_draws|divergences)_total/ {printf " %s=%d", $1, $2}')
  echo "$label tps=$tps$counters"
  kill "$proxy"; wait "$proxy" 2>/dev/null || true
  rm -rf "$work"
}

for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) = 1 ]; then
    run A "$jar_a" "${BLUEGREEN_JAVA_OPTS_A:-}" "${BLUEGREEN_ARGS_A:-}"
    run B "$jar_b" "${BLUEGREEN_JAVA_OPTS_B:-}" "${BLUEGREEN_ARGS_B:-}"
  else
    run B "$jar_b" "${BLUEGREEN_JAVA_OPTS_B:-}" "${BLUEGREEN_ARGS_B:-}"
    run A "$jar_a" "${BLUEGREEN_JAVA_OPTS_A:-}" "${BLUEGREEN_ARGS_A:-}"
  fi
done
