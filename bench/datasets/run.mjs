// Dataset validation + profiling against the baselines the issue names:
// `cp` of the same file (disk speed) and pandas `read_csv(...).describe()`.
// Run after `npx tsc -b server`: BENCH_MB=1024 node bench/datasets/run.mjs
// Each engine runs in its own child process so its peak RSS is its own.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../..'
);
const megabytes = Number(process.env.BENCH_MB ?? 1024);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-bench-datasets-'));
const csv = path.join(dir, 'bench.csv');

function generate() {
  const cities = ['Berlin', 'Paris', 'Rome', 'Oslo', 'Madrid', 'Lisbon'];
  const out = fs.openSync(csv, 'w');
  fs.writeSync(out, 'id,amount,score,ratio,city,note\n');
  let written = 0;
  let i = 0;
  const target = megabytes * 1024 * 1024;
  while (written < target) {
    const lines = [];
    for (let k = 0; k < 10000; k++, i++) {
      lines.push(
        `${i},${((i * 7919) % 100000) / 100},${i % 101},${Math.sin(i).toFixed(6)},${cities[i % 6]},"note ${i % 997}, ok"`
      );
    }
    const chunk = lines.join('\n') + '\n';
    fs.writeSync(out, chunk);
    written += Buffer.byteLength(chunk);
  }
  fs.closeSync(out);
  return fs.statSync(csv).size;
}

/** Runs a command under /usr/bin/time -v: wall seconds and peak RSS (MB). */
function timed(label, command, args) {
  const start = process.hrtime.bigint();
  const run = spawnSync('/usr/bin/time', ['-v', command, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (run.status !== 0) {
    throw new Error(`${label} failed: ${run.stderr.slice(-2000)}`);
  }
  const rss =
    Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(run.stderr)[1]) /
    1024;
  return { label, seconds, rss, stdout: run.stdout.trim() };
}

const lib = path.join(root, 'server/lib/datasets');
const validateScript = `
const { validateDatasetFile } = require(${JSON.stringify(lib + '/validate')});
validateDatasetFile(process.argv[1]).then(r => {
  if (!r.ok) throw new Error(r.reason);
  console.log(JSON.stringify({ rows: r.rows }));
});`;
const profileScript = `
const { profileDataset } = require(${JSON.stringify(lib + '/profile')});
profileDataset(process.argv[1], 'csv', { delimiter: ',' }).then(p => {
  console.log(JSON.stringify({ rows: p.row_count }));
});`;
const pandasScript =
  'import sys, pandas; print(pandas.read_csv(sys.argv[1]).describe().shape)';

try {
  const bytes = generate();
  const mb = bytes / (1024 * 1024);
  console.log(`generated ${mb.toFixed(0)} MB CSV in ${dir}`);
  execFileSync('sync');
  const results = [
    timed('cp', 'cp', [csv, path.join(dir, 'copy.csv')]),
    timed('validate', process.execPath, ['-e', validateScript, csv]),
    timed('profile', process.execPath, ['-e', profileScript, csv]),
    timed('pandas read_csv().describe()', '/usr/bin/python3', [
      '-c',
      pandasScript,
      csv
    ])
  ];
  fs.rmSync(path.join(dir, 'copy.csv'));
  const byLabel = Object.fromEntries(results.map(r => [r.label, r]));
  for (const r of results) {
    console.log(
      `${r.label.padEnd(30)} ${r.seconds.toFixed(2).padStart(7)} s ${(mb / r.seconds).toFixed(0).padStart(6)} MB/s  peak RSS ${r.rss.toFixed(0).padStart(5)} MB  ${r.stdout}`
    );
  }
  const pandas = byLabel['pandas read_csv().describe()'].seconds;
  const ours =
    byLabel.cp.seconds + byLabel.validate.seconds + byLabel.profile.seconds;
  console.log(
    `copy + validate + profile: ${ours.toFixed(2)} s = ${(ours / pandas).toFixed(2)} × pandas (target ≤ 0.25); ` +
      `peak RSS ${Math.max(byLabel.validate.rss, byLabel.profile.rss).toFixed(0)} MB (target ≤ 400)`
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
