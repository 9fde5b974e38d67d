#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL server on loopback, then stop it:
#
#   scripts/pg_test_server.sh .venv/bin/pytest -q tests/test_state_postgres.py
#
# The command sees INTACCT_SYNC_TEST_POSTGRES_DSN pointing at the server (a fresh cluster in a
# temp dir, 127.0.0.1 on a free port, the socket in the same dir; trust auth, fsync off: test
# data only). When the variable is already set, the command runs against that server instead.
# Under pytest-xdist each worker makes and drops a database of its own there (tests/conftest.py),
# so two workers never share schemas, leases or advisory locks; max_connections=200 leaves room
# for both workers' concurrent openers and lease children.
# initdb refuses to run as root, so as root the cluster belongs to the `postgres` user.
set -euo pipefail

if [[ -n "${INTACCT_SYNC_TEST_POSTGRES_DSN:-}" ]]; then
    exec "$@"
fi

bindir=""
for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]]; then bindir="$candidate"; break; fi
done
if [[ -z "$bindir" ]] && command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    bindir="$(dirname "$(command -v initdb)")"
fi
if [[ -z "$bindir" ]]; then
    echo "pg_test_server: no initdb/pg_ctl found; install PostgreSQL (apt-get install -y postgresql)" >&2
    exit 1
fi

workdir="$(mktemp -d "${TMPDIR:-/tmp}/intacct-sync-pg.XXXXXX")"
as_owner=()
if [[ "$(id -u)" == "0" ]]; then
    chown postgres: "$workdir"
    as_owner=(runuser -u postgres --)
fi
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

stop() {
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$workdir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$workdir"
}
trap stop EXIT

"${as_owner[@]}" "$bindir/initdb" -D "$workdir/data" -U intacct --auth=trust -E UTF8 \
    --no-locale >"$workdir/initdb.log" 2>&1 || { cat "$workdir/initdb.log" >&2; exit 1; }
"${as_owner[@]}" "$bindir/pg_ctl" -D "$workdir/data" -l "$workdir/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $workdir -c fsync=off -c synchronous_commit=off -c max_connections=200" \
    start >/dev/null || { cat "$workdir/server.log" >&2; exit 1; }

export INTACCT_SYNC_TEST_POSTGRES_DSN="postgresql://intacct@127.0.0.1:$port/postgres"
echo "pg_test_server: PostgreSQL ($bindir) on 127.0.0.1:$port" >&2
status=0
"$@" || status=$?
exit "$status"
