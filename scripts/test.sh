#!/usr/bin/env bash
# `npm test`: set up what is missing, start the services the tests use, run
# every suite (jest per workspace, then the browser tests) and print one
# summary line. Extra arguments are passed to jest (e.g. a test name filter).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
source "$ROOT/scripts/services.sh"
use_supported_node

bash "$ROOT/scripts/setup.sh" --test || die "Setup failed."

# The shared German Credit data: `../shared` beside the repository (the
# issues' path), else the workstation's copy. Tests read this variable.
for candidate in "$ROOT/../shared/data/german_credit.csv" /work/shared/data/german_credit.csv; do
  if [ -z "${INSIGHTER_TEST_GERMAN_CREDIT:-}" ] && [ -f "$candidate" ]; then
    export INSIGHTER_TEST_GERMAN_CREDIT="$(cd "$(dirname "$candidate")" && pwd)/german_credit.csv"
  fi
done
[ -n "${INSIGHTER_TEST_GERMAN_CREDIT:-}" ] ||
  die "german_credit.csv not found: put the shared data at ../shared/data beside the repository or set INSIGHTER_TEST_GERMAN_CREDIT."

RESULTS="$ROOT/.cache/test-results"
rm -rf "$RESULTS" && mkdir -p "$RESULTS"
trap 'stop_postgres; stop_dockerd' EXIT
if [ -z "${INSIGHTER_TEST_DATABASE_URL:-}" ]; then
  start_postgres
fi
if [ -z "${DOCKER_HOST:-}" ]; then
  start_dockerd
fi

cd "$ROOT"
status=0
# Every workspace whose package.json has a "test" script runs jest.
for ws in $(node -e "
  const root = require('./package.json');
  for (const ws of root.workspaces) {
    const pkg = require('./' + ws + '/package.json');
    if (pkg.scripts && pkg.scripts.test) console.log(ws);
  }"); do
  log "jest: $ws"
  (cd "$ws" && npx jest --ci --json --outputFile="$RESULTS/jest-${ws//\//-}.json" "$@") || status=1
done

if [ -f ui-tests/playwright.config.ts ]; then
  log "browser tests: ui-tests"
  (cd ui-tests && PLAYWRIGHT_JSON_OUTPUT_NAME="$RESULTS/playwright.json" \
    npx playwright test --reporter=list,json) || status=1
fi

node scripts/test-summary.mjs "$RESULTS" || status=1
exit $status
