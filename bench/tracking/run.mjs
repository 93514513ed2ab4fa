#!/usr/bin/env node
// `node bench/tracking/run.mjs` (also run by `npm run bench`): the log-batch
// benchmark of the built-in MLflow-compatible tracking. The benchmark is
// TypeScript (bench.ts) so it uses the sidecar's own modules and the test
// support's PostgreSQL 15 cluster, not copies; tsx runs it without a build.
// BENCH_NODE_BASELINE=<node> compares two Node.js versions (see ../run-ts.mjs).
import { runTypeScriptBench } from '../run-ts.mjs';

runTypeScriptBench(import.meta.url);
