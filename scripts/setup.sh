#!/usr/bin/env bash
# Sets up what is missing: system packages, npm dependencies, build.
#   bash scripts/setup.sh          runtime only (what `npm start` needs)
#   bash scripts/setup.sh --test   plus what the tests need
set -euo pipefail
source "$(dirname "$0")/lib.sh"
use_supported_node

packages=("${RUNTIME_APT_PACKAGES[@]}")
[ "${1:-}" = "--test" ] && packages+=("${TEST_APT_PACKAGES[@]}")
ensure_apt_packages "${packages[@]}"
ensure_npm_dependencies
ensure_build
