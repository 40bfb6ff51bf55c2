#!/usr/bin/env bash
# A throwaway PostgreSQL server for the scaled-out profile (deploy/postgres/dagster.yaml) and for
# Optuna's shared study storage: one cluster in DIR, on 127.0.0.1, on a free port.
#
#   scripts/postgres_local.sh start  [DIR]   init (first time) + start; prints `export ...` lines
#   scripts/postgres_local.sh url    [DIR]   print the same lines for a running cluster
#   scripts/postgres_local.sh status [DIR]   exit 0 when running
#   scripts/postgres_local.sh stop   [DIR]   stop it (the data stays in DIR; rm -rf DIR to drop)
#
#   eval "$(scripts/postgres_local.sh start /tmp/seedsieve-pg)"
#
# DIR defaults to $SEEDSIEVE_PG_DIR or /tmp/seedsieve-postgres. Debian's postgresql is installed
# with apt-get when missing (root only). PostgreSQL refuses to run as root, so as root the server
# runs as the `postgres` system user (runuser), and DIR is handed to that user. Durability is
# switched off (fsync, synchronous_commit): this cluster is for tests and local scale-out trials,
# not for data you cannot regenerate.
set -euo pipefail

CMD="${1:-}"
DIR="${2:-${SEEDSIEVE_PG_DIR:-/tmp/seedsieve-postgres}}"
PG_USER="seedsieve"
DAGSTER_DB="dagster"
OPTUNA_DB="optuna"
RUN_AS="postgres"

die() { echo "postgres_local: $*" >&2; exit 1; }

pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir; return 0
  fi
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

ensure_installed() {
  pg_bindir >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "postgres_local: installing postgresql with apt-get" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql \
      >/dev/null) >&2 || die "apt-get install postgresql failed"
    pg_bindir >/dev/null || die "postgresql installed but no initdb under /usr/lib/postgresql"
  else
    die "no PostgreSQL server binaries (initdb) and cannot install them (need root + apt-get)"
  fi
}

# Run a server binary as the unprivileged owner when we are root.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$RUN_AS" -- "$@"
  else
    "$@"
  fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    port_in_use "$p" || { echo "$p"; return 0; }
  done
  die "no free port found"
}

print_env() {
  local port password
  port="$(cat "$DIR/port")"
  password="$(cat "$DIR/password")"
  local base="postgresql+psycopg2://$PG_USER:$password@127.0.0.1:$port"
  cat <<EOF
export SEEDSIEVE_PG_HOST=127.0.0.1
export SEEDSIEVE_PG_PORT=$port
export SEEDSIEVE_PG_USER=$PG_USER
export SEEDSIEVE_PG_PASSWORD=$password
export SEEDSIEVE_PG_DB=$DAGSTER_DB
export SEEDSIEVE_OPTUNA_URL=$base/$OPTUNA_DB
# Dagster storage: $base/$DAGSTER_DB
EOF
}

running() {
  [ -f "$DIR/data/postmaster.pid" ] || return 1
  local bin
  bin="$(pg_bindir)" || return 1
  as_owner "$bin/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1
}

start() {
  ensure_installed
  local bin
  bin="$(pg_bindir)"
  if running; then
    print_env
    return 0
  fi
  mkdir -p "$DIR"
  if [ "$(id -u)" = 0 ]; then
    id "$RUN_AS" >/dev/null 2>&1 || useradd --system --home-dir "$DIR" "$RUN_AS"
    chown "$RUN_AS" "$DIR"
    chmod 700 "$DIR"
    runuser -u "$RUN_AS" -- test -w "$DIR" \
      || die "user $RUN_AS cannot write $DIR (is a parent directory private to root?)"
  fi
  if [ ! -f "$DIR/data/PG_VERSION" ]; then
    # A random password: the server listens on loopback only, but other local users exist.
    head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$DIR/password"
    [ -s "$DIR/password" ] || die "could not generate a password"
    [ "$(id -u)" = 0 ] && chown "$RUN_AS" "$DIR/password"
    chmod 600 "$DIR/password"
    as_owner "$bin/initdb" -D "$DIR/data" -U "$PG_USER" --pwfile="$DIR/password" \
      --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
      >"$DIR/initdb.log" 2>&1 || die "initdb failed: $(tail -5 "$DIR/initdb.log")"
  fi
  local port ok=0 i
  for i in 1 2 3 4 5; do
    port="$(free_port)"
    echo "$port" > "$DIR/port"
    if as_owner "$bin/pg_ctl" -D "$DIR/data" -l "$DIR/postgres.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $DIR -c fsync=off \
          -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      >/dev/null 2>&1; then
      ok=1; break
    fi
  done
  [ "$ok" = 1 ] || die "server did not start: $(tail -5 "$DIR/postgres.log" 2>/dev/null)"
  local db
  for db in "$DAGSTER_DB" "$OPTUNA_DB"; do
    PGPASSWORD="$(cat "$DIR/password")" "$bin/psql" -h 127.0.0.1 -p "$port" -U "$PG_USER" \
      -d postgres -v ON_ERROR_STOP=1 -qtAc "SELECT 1 FROM pg_database WHERE datname = '$db'" \
      | grep -q 1 \
      || PGPASSWORD="$(cat "$DIR/password")" "$bin/createdb" -h 127.0.0.1 -p "$port" \
        -U "$PG_USER" "$db" \
      || die "could not create database $db"
  done
  print_env
}

stop() {
  if running; then
    as_owner "$(pg_bindir)/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null
    echo "postgres_local: stopped ($DIR)" >&2
  else
    echo "postgres_local: not running ($DIR)" >&2
  fi
}

case "$CMD" in
  start) start ;;
  stop) stop ;;
  url) running || die "not running ($DIR); run: $0 start $DIR"; print_env ;;
  status)
    if running; then echo "running on 127.0.0.1:$(cat "$DIR/port") ($DIR)"
    else echo "stopped ($DIR)"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|url|status [DIR]" >&2; exit 2 ;;
esac
