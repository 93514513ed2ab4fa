#!/usr/bin/env node
// `node bench/load/run.mjs` (also run by `npm run bench`): 50 simulated users
// for 60 s against the real sidecar (issue 13). The benchmark itself is
// TypeScript (bench.ts) so it uses the test support's sidecar process and the
// deployments benchmark's set-up, not copies; tsx runs it without a build.
// BENCH_NODE_BASELINE=<node> compares two Node.js versions (see ../run-ts.mjs).
import { runTypeScriptBench } from '../run-ts.mjs';

runTypeScriptBench(import.meta.url);
