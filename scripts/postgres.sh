#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for the tests (CI starts one).
#   bash scripts/postgres.sh start   # prints the server's URL for TEST_POSTGRES_URL
#   bash scripts/postgres.sh stop
# Installs Debian's postgresql package (apt, as root) when no server binaries are found.
# TEST_POSTGRES_PORT and TEST_POSTGRES_DIR move it (not NEWSDIGEST_*: the tests would
# pass those on to newsdigest, whose configuration refuses unknown keys).
set -euo pipefail
DIR="${TEST_POSTGRES_DIR:-/tmp/newsdigest-test-pg}"
PORT="${TEST_POSTGRES_PORT:-55433}"

# The newest installed server's bin directory, or nothing (never a failure: pipefail).
find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true; }

as_owner() {
    if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}

case "${1:-start}" in
start)
    BIN="$(find_bin)"
    if [ -z "$BIN" ]; then
        [ "$(id -u)" = 0 ] || { echo "no PostgreSQL server: install Debian's postgresql package" >&2; exit 1; }
        export DEBIAN_FRONTEND=noninteractive
        # The package lists may be missing or stale on a new machine: update first.
        apt-get update -q >"$DIR.apt.log" 2>&1 \
            && apt-get install -y -q --no-install-recommends postgresql >>"$DIR.apt.log" 2>&1 \
            || { tail -5 "$DIR.apt.log" >&2; echo "cannot install postgresql with apt" >&2; exit 1; }
        BIN="$(find_bin)"
    fi
    [ -n "$BIN" ] || { echo "no PostgreSQL server binaries in /usr/lib/postgresql" >&2; exit 1; }
    if [ -f "$DIR/data/postmaster.pid" ]; then as_owner "$BIN/pg_ctl -D $DIR/data -m fast stop" >/dev/null 2>&1 || true; fi
    rm -rf "$DIR" && mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres "$DIR"
    as_owner "$BIN/initdb -D $DIR/data -U newsdigest --auth=trust -E UTF8 --locale=C.UTF-8" >"$DIR.init.log" 2>&1 \
        || { tail -3 "$DIR.init.log" >&2; exit 1; }
    as_owner "$BIN/pg_ctl -D $DIR/data -w -l $DIR/server.log -o \"-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off\" start" >/dev/null \
        || { tail -3 "$DIR/server.log" >&2; exit 1; }
    echo "postgresql+psycopg://newsdigest@127.0.0.1:$PORT/postgres"
    ;;
stop)
    BIN="$(find_bin)"
    [ -n "$BIN" ] && [ -d "$DIR/data" ] && as_owner "$BIN/pg_ctl -D $DIR/data -m fast stop" >/dev/null 2>&1 || true
    ;;
esac
