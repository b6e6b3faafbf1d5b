#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for temper-tune's storage tests and prints its URL
# (the only thing written to stdout), e.g.
#
#   export TEMPER_TEST_POSTGRES="$(crates/temper-tune/scripts/start-test-postgres.sh)"
#   cargo test --release -p temper-tune --features postgres
#
# Idempotent: installs the Debian/Ubuntu `postgresql` package when no server binary is found
# (needs root), initialises the data directory once, starts the server unless one already
# answers on the port, and creates the database unless it exists. The server listens on
# 127.0.0.1 only, trusts every local connection (no password) and runs with fsync off: it is
# for tests, never for data anyone wants to keep. Stop it with
#   pg_ctl -D "$TEMPER_PG_DATA" stop      (as the postgres user when started by root)
#
# Settings (environment): TEMPER_PG_PORT (55432), TEMPER_PG_DATA (/tmp/temper-pgdata),
# TEMPER_PG_DB (temper_test).
set -euo pipefail

port="${TEMPER_PG_PORT:-55432}"
data="${TEMPER_PG_DATA:-/tmp/temper-pgdata}"
db="${TEMPER_PG_DB:-temper_test}"
say() { echo "start-test-postgres: $*" >&2; }

find_bindir() {
    local d
    # Debian and Ubuntu keep the server binaries out of PATH, one directory per major version.
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then
        echo "$d"
    elif command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v initdb)"
    fi
}

bindir="$(find_bindir)"
if [ -z "$bindir" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        say "no PostgreSQL server found and not root: install the postgresql package"
        exit 1
    fi
    say "installing postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    bindir="$(find_bindir)"
    [ -n "$bindir" ] || { say "postgresql installed but initdb not found"; exit 1; }
fi

# The server refuses to run as root: run it (and initdb) as the postgres user in that case.
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi
superuser="$( [ "$(id -u)" -eq 0 ] && echo postgres || id -un )"

if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    say "a server already answers on 127.0.0.1:$port"
else
    if [ ! -f "$data/PG_VERSION" ]; then
        say "initialising $data"
        mkdir -p "$data"
        if [ "$(id -u)" -eq 0 ]; then chown postgres: "$data"; fi
        chmod 700 "$data"
        as_pg "$bindir/initdb" -D "$data" -U "$superuser" --auth=trust -E UTF8 --no-locale >&2
    fi
    say "starting the server on 127.0.0.1:$port"
    as_pg "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start \
        -o "-k $data -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >&2
fi

psql_pg() { "$bindir/psql" -X -q -h 127.0.0.1 -p "$port" -U "$superuser" "$@"; }
if [ "$(psql_pg -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
    say "creating database $db"
    psql_pg -d postgres -c "CREATE DATABASE \"$db\"" >&2
fi
echo "postgres://$superuser@127.0.0.1:$port/$db"
