#!/usr/bin/env bash
# `npm start`: set up whatever is missing, then run Insighter Lab in the foreground.
# Configuration by environment: INSIGHTER_PORT, INSIGHTER_API_PORT, INSIGHTER_TOKEN,
# INSIGHTER_DATA_DIR, INSIGHTER_HOST (see README).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
use_supported_node

bash "$ROOT/scripts/setup.sh"
mkdir -p "${INSIGHTER_DATA_DIR:-$HOME/.insighter}"
cd "$ROOT"
export PYTHONPATH="$ROOT/jupyter-config${PYTHONPATH:+:$PYTHONPATH}"
exec "$PYTHON" -m insighter_lab "$@"
