#!/usr/bin/env node
// `node bench/deployments/run.mjs` (also run by `npm run bench`): predictions
// through /api/v1/predict/<slug> next to an MLflow-style Flask baseline. The
// benchmark itself is TypeScript (bench.ts) so it uses the test support's
// sidecar process and model fixture, not copies; tsx runs it without a build.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', path.join(here, 'bench.ts'), ...process.argv.slice(2)],
  {
    stdio: 'inherit',
    cwd: path.resolve(here, '..', '..')
  }
);
process.exit(result.status ?? 1);
