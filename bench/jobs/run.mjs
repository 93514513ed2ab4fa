#!/usr/bin/env node
// `node bench/jobs/run.mjs` (also run by `npm run bench`): a training job's
// start to its first log line, process and Docker runners. The benchmark is
// TypeScript (bench.ts) so it runs the sidecar's own modules and the test
// support's Docker engine, not copies; tsx runs it without a build.
// BENCH_NODE_BASELINE=<node> compares two Node.js versions (see ../run-ts.mjs).
import { runTypeScriptBench } from '../run-ts.mjs';

runTypeScriptBench(import.meta.url);
