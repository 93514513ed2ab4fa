#!/usr/bin/env node
// `node bench/deployments/run.mjs` (also run by `npm run bench`): predictions
// through /api/v1/predict/<slug> next to an MLflow-style Flask baseline. The
// benchmark itself is TypeScript (bench.ts) so it uses the test support's
// sidecar process and model fixture, not copies; tsx runs it without a build.
// BENCH_NODE_BASELINE=<node> compares two Node.js versions (see ../run-ts.mjs).
import { runTypeScriptBench } from '../run-ts.mjs';

runTypeScriptBench(import.meta.url);
