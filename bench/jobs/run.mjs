#!/usr/bin/env node
// `node bench/jobs/run.mjs` (also run by `npm run bench`): a training job's
// start to its first log line, process and Docker runners. The benchmark is
// TypeScript (bench.ts) so it runs the sidecar's own modules and the test
// support's Docker engine, not copies; tsx runs it without a build.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', path.join(here, 'bench.ts'), ...process.argv.slice(2)],
  { stdio: 'inherit', cwd: path.resolve(here, '..', '..') }
);
process.exit(result.status ?? 1);
