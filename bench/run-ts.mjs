// Runs a benchmark written in TypeScript — the bench.ts beside the calling
// run.mjs, through tsx, so it uses the sidecar's sources and the test
// support without a build — on the node that runs this script.
//
// BENCH_NODE_BASELINE=<another node binary> runs it on that node first, then
// on this one, and prints the two runs' figures (their bench/results files)
// side by side: what a Node.js upgrade changes, measured in one run on one
// machine. E.g. on Node 24 against the machine's Node 20:
//   BENCH_NODE_BASELINE=/usr/bin/node node bench/tracking/run.mjs
// The benchmark's own children that start a node (sidecars, clients) start
// the one it runs on; INSIGHTER_NODE names it for anything that asks. A node
// older than 22 gets node20-websocket.mjs preloaded, as supabase-js needs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = path.join(ROOT, 'bench', 'results');

/** Runs `<dir of runMjsUrl>/bench.ts` (on two nodes with BENCH_NODE_BASELINE) and exits with its status. */
export function runTypeScriptBench(runMjsUrl) {
  const dir = path.dirname(fileURLToPath(runMjsUrl));
  const name = path.basename(dir);
  const baseline = process.env.BENCH_NODE_BASELINE;
  if (!baseline) {
    process.exit(runOn(process.execPath, dir, name).status);
  }
  const runs = [baseline, process.execPath].map(node => {
    console.log(`\n#### bench/${name} on Node.js ${versionOf(node)} (${node})`);
    return runOn(node, dir, name);
  });
  printSideBySide(name, runs);
  process.exit(runs.every(run => run.status === 0) ? 0 : 1);
}

function versionOf(node) {
  const answer = spawnSync(node, ['--version'], { encoding: 'utf8' });
  if (answer.status !== 0) {
    throw new Error(`${node} is not a node binary (BENCH_NODE_BASELINE).`);
  }
  return answer.stdout.trim();
}

/** One run; its figures are the results file it left in bench/results. */
function runOn(node, dir, name) {
  const before = new Set(resultFiles(name));
  const version = versionOf(node);
  const env = { ...process.env, INSIGHTER_NODE: node };
  if (Number(version.slice(1).split('.')[0]) < 22) {
    // In every node process of the run, the sidecar's included.
    const preload = pathToFileURL(
      path.join(ROOT, 'bench', 'node20-websocket.mjs')
    );
    env.NODE_OPTIONS = [env.NODE_OPTIONS, `--import=${preload}`]
      .filter(Boolean)
      .join(' ');
  }
  const run = spawnSync(
    node,
    ['--import', 'tsx', path.join(dir, 'bench.ts'), ...process.argv.slice(2)],
    { stdio: 'inherit', cwd: ROOT, env }
  );
  const file = resultFiles(name).find(f => !before.has(f));
  return {
    version,
    status: run.status ?? 1,
    figures: file
      ? numbersIn(JSON.parse(fs.readFileSync(path.join(RESULTS, file), 'utf8')))
      : new Map()
  };
}

function resultFiles(name) {
  return fs.existsSync(RESULTS)
    ? fs
        .readdirSync(RESULTS)
        .filter(f => f.startsWith(`${name}-`) && f.endsWith('.json'))
    : [];
}

/**
 * Every number in a results file by its path; a list item is named by the
 * fields that tell it apart (backend, durability, runner, rows, kind)
 * instead of its index.
 */
function numbersIn(value, prefix = '', into = new Map()) {
  if (typeof value === 'number') {
    into.set(prefix, value);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const label = ['backend', 'durability', 'runner', 'rows', 'kind']
        .filter(key => item?.[key] !== undefined)
        .map(key =>
          key === 'rows'
            ? `${item[key]} rows`
            : key === 'durability'
              ? `durability ${item[key]}`
              : item[key]
        )
        .join(', ');
      numbersIn(item, `${prefix}[${label || i}]`, into);
    });
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      numbersIn(item, prefix ? `${prefix}.${key}` : key, into);
    }
  }
  return into;
}

/** The figures that differ between the runs (settings and counts that agree are left out). */
function printSideBySide(name, [before, after]) {
  const rows = [...before.figures]
    .filter(
      ([key, value]) =>
        after.figures.has(key) && after.figures.get(key) !== value
    )
    .map(([key, value]) => {
      const now = after.figures.get(key);
      const change =
        value === 0
          ? ''
          : `${now > value ? '+' : ''}${(((now - value) / value) * 100).toFixed(1)} %`;
      return [key, fmt(value), fmt(now), change];
    });
  const header = ['', before.version, after.version, 'change'];
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map(r => r[i].length))
  );
  const line = cells =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ');
  console.log(
    `\n== bench/${name}: Node.js ${before.version} (run first) and ${after.version}, same machine, back to back`
  );
  if (rows.length === 0) {
    console.log('   no figures to compare (a run left no results file)');
    return;
  }
  console.log(`   ${line(header)}`);
  for (const row of rows) {
    console.log(`   ${line(row)}`);
  }
}

/** At most three decimals (one from 100 up), trailing zeros dropped. */
function fmt(n) {
  return String(Number(n.toFixed(Math.abs(n) >= 100 ? 1 : 3)));
}
