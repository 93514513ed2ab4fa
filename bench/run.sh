#!/usr/bin/env bash
# `npm run bench`: every benchmark, each next to its baseline, in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
use_supported_node
bash scripts/setup.sh --test
npx tsx bench/foundation.ts
# BENCH_MB sizes the generated CSV of bench/datasets (default 1024); BENCH_RUNS the
# number of 1,000-metric log-batches of bench/tracking (default 30); BENCH_JOBS the
# jobs per runner of bench/jobs (default 5; start to first log line, process and Docker).
# BENCH_NODE_BASELINE=/usr/bin/node runs the TypeScript benchmarks (deployments, jobs,
# projects, tracking) on that node too, first, and prints both runs' figures side by side.
for b in bench/*/run.mjs; do
  [ -f "$b" ] && node "$b"
done
