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
# load, projects, tracking) on that node too, first, and prints both runs' figures side by side.
# bench/projects and bench/tracking measure durability on and off side by side
# (BENCH_DURABILITY=on or off: one of them); bench/load runs 50 users for 60 s
# (BENCH_LOAD_USERS, BENCH_LOAD_DURATION_S; see bench/load/README.md).
for b in bench/*/run.mjs; do
  [ -f "$b" ] && node "$b"
done
