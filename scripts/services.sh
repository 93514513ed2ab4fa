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

# A Docker engine of the suite's own (Debian's docker.io): its own data root,
# exec root, PID file and socket in a temp dir, so it never touches a system
# daemon and two suites on one machine do not meet. No default bridge and no
# iptables rules: jobs run with host networking (they reach the sidecar on
# 127.0.0.1), and a second engine on the machine cannot clash over docker0.
start_dockerd() {
  command -v dockerd >/dev/null || die "dockerd is not installed (apt-get install docker.io)."
  DOCKERD_DIR=$(mktemp -d /tmp/insighter-dockerd.XXXXXX)
  dockerd --data-root "$DOCKERD_DIR/data" --exec-root "$DOCKERD_DIR/exec" \
    --pidfile "$DOCKERD_DIR/dockerd.pid" -H "unix://$DOCKERD_DIR/docker.sock" \
    --bridge=none --iptables=false --ip-masq=false \
    >"$DOCKERD_DIR/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  local i
  for i in $(seq 1 100); do
    if docker_ping "unix://$DOCKERD_DIR/docker.sock"; then
      export DOCKER_HOST="unix://$DOCKERD_DIR/docker.sock"
      log "Docker engine for tests at $DOCKER_HOST"
      return 0
    fi
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    sleep 0.2
  done
  tail -20 "$DOCKERD_DIR/dockerd.log" >&2
  die "dockerd did not start (log above)."
}

# Whether the engine at a unix:// DOCKER_HOST answers /_ping (node: curl may be missing).
docker_ping() {
  node -e "
    const req = require('http').get({ socketPath: process.argv[1].replace(/^unix:\/\//, ''), path: '/_ping', timeout: 1000 },
      res => process.exit(res.statusCode === 200 ? 0 : 1));
    req.on('error', () => process.exit(1));
    req.on('timeout', () => process.exit(1));" "$1"
}

stop_dockerd() {
  [ -n "${DOCKERD_DIR:-}" ] || return 0
  if kill -0 "$DOCKERD_PID" 2>/dev/null; then
    kill -TERM "$DOCKERD_PID"
    local i
    for i in $(seq 1 100); do
      kill -0 "$DOCKERD_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$DOCKERD_PID" 2>/dev/null || true
  fi
  # dockerd leaves its network namespace mounted under the exec root.
  awk -v dir="$DOCKERD_DIR/" 'index($2, dir) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r point; do umount -l "$point" 2>/dev/null || true; done
  rm -rf "$DOCKERD_DIR" 2>/dev/null || true
  DOCKERD_DIR=
}
