# Throwaway services for the test suite. Sourced by test.sh; everything started
# here is stopped by PID (or by its own control tool) when the suite ends.

# A PostgreSQL 15 cluster in a temp dir on a free port. Debian's server refuses
# to run as root, so as root the cluster belongs to the `postgres` user.
start_postgres() {
  local bin=/usr/lib/postgresql/15/bin
  [ -x "$bin/initdb" ] || die "PostgreSQL 15 is not installed (apt-get install postgresql-15)."
  PG_DIR=$(mktemp -d /tmp/insighter-pg.XXXXXX)
  PG_PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
  local run=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$PG_DIR"
    run=(runuser -u postgres --)
  fi
  "${run[@]}" "$bin/initdb" -D "$PG_DIR/data" -A trust -U postgres >/dev/null
  "${run[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  PG_RUN=("${run[@]}")
  export INSIGHTER_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  log "PostgreSQL 15 for tests on port $PG_PORT"
}

stop_postgres() {
  [ -n "${PG_DIR:-}" ] || return 0
  "${PG_RUN[@]}" /usr/lib/postgresql/15/bin/pg_ctl -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  PG_DIR=
}
