# Shared shell helpers for setup, start and test. Sourced, not run.
# Each step is skipped when it is already done, so the second `npm start` is quick.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-/usr/bin/python3}"

# System packages Insighter Lab needs to run (Debian 12 names).
RUNTIME_APT_PACKAGES=(
  python3-jupyter-server python3-jupyterlab-server python3-ipykernel
  python3-pandas python3-sklearn python3-xgboost python3-matplotlib
  python3-yaml
)
# Extra packages the test suite needs: a real browser, a real PostgreSQL 15 and
# a real Docker engine (the suite starts its own dockerd, see services.sh);
# Flask and gunicorn for the deployments benchmark's baseline (MLflow's scoring
# server is a Flask app under gunicorn).
TEST_APT_PACKAGES=(chromium postgresql-15 postgresql-client-15 docker.io python3-flask gunicorn curl)

log() { printf '\033[1;34m[insighter]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[insighter]\033[0m %s\n' "$*" >&2; exit 1; }

missing_apt_packages() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || echo "$pkg"
  done
}

ensure_apt_packages() {
  if ! command -v dpkg-query >/dev/null; then
    log "Not a Debian system: skipping system packages (install them by hand, see README)."
    return 0
  fi
  local missing
  missing=$(missing_apt_packages "$@")
  [ -z "$missing" ] && return 0
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "Missing system packages: $missing. Install them as root: apt-get install -y $missing"
    sudo="sudo"
  fi
  log "Installing system packages: $(echo $missing | tr '\n' ' ')"
  # Packages with daemons (docker.io) must not start a system service: the
  # suite starts its own, on its own socket. policy-rc.d exit 101 = "not now".
  local policy=/usr/sbin/policy-rc.d placed_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    placed_policy=1
  fi
  # The package lists may be missing on a fresh machine; update them once.
  $sudo apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null
  # shellcheck disable=SC2086
  local installed=0
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
    -o DPkg::Lock::Timeout=600 $missing >/dev/null || installed=$?
  if [ -n "$placed_policy" ]; then
    $sudo rm -f "$policy"
  fi
  return $installed
}

ensure_npm_dependencies() {
  local stamp="$ROOT/node_modules/.insighter-lock-sha"
  local want
  want=$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  log "Installing npm dependencies (npm ci)"
  # Browsers come from Debian; never let a package download its own.
  (cd "$ROOT" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
}

ensure_build() {
  (cd "$ROOT" && node scripts/build-if-needed.mjs)
}
