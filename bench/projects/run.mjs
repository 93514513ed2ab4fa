#!/usr/bin/env node
// `node bench/projects/run.mjs` (also run by `npm run bench`): the projects
// list benchmark. The benchmark itself is TypeScript (bench.ts) so it uses the
// sidecar's own modules and the test support's PostgreSQL 15 cluster, not
// copies; tsx runs it without a build step (the registry package must be built:
// `npx tsc -b` or `npm run build`).
// BENCH_NODE_BASELINE=<node> compares two Node.js versions (see ../run-ts.mjs).
import { runTypeScriptBench } from '../run-ts.mjs';

runTypeScriptBench(import.meta.url);
