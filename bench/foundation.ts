/**
 * Issue 2 benchmark: what Insighter's extensions cost on top of plain
 * JupyterLab. In one run, for the Insighter Lab build and the same app built
 * without Insighter's extensions (the baseline):
 *   - production build time (webpack, wall clock),
 *   - gzipped JS size (all bundles; Insighter's share is the difference),
 *   - time until the app is restored in headless Chromium (median of 5, each
 *     with a fresh browser profile, i.e. a cold cache).
 *
 *   npx tsx bench/foundation.ts   (or: npm run bench)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { REPO_ROOT, startLab } from '../extensions/app/test/support/lab';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
];

interface Variant {
  name: string;
  script: string;
  dir: string;
}

const variants: Variant[] = [
  { name: 'Insighter Lab', script: 'build', dir: path.join(REPO_ROOT, 'extensions/app/build') },
  {
    name: 'JupyterLab baseline (no Insighter extensions)',
    script: 'build:baseline',
    dir: path.join(REPO_ROOT, 'extensions/app/build-baseline')
  }
];

function timeBuild(script: string): number {
  const started = performance.now();
  execFileSync('npm', ['run', script, '-w', '@insighter/app'], { cwd: REPO_ROOT, stdio: 'ignore' });
  return (performance.now() - started) / 1000;
}

function gzippedJsBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir)) {
    const file = path.join(dir, entry);
    if (entry.endsWith('.js') && statSync(file).isFile()) {
      total += gzipSync(readFileSync(file)).length;
    }
  }
  return total;
}

async function restoreTimes(appDir: string): Promise<number[]> {
  const lab = await startLab({ token: null, env: { INSIGHTER_APP_DIR: appDir } });
  const times: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const profile = mkdtempSync(path.join(os.tmpdir(), 'insighter-bench-profile-'));
      const browser = await chromium.launchPersistentContext(profile, {
        executablePath: process.env.INSIGHTER_CHROMIUM ?? '/usr/bin/chromium',
        args: CHROMIUM_ARGS,
        headless: true
      });
      try {
        const page = browser.pages()[0] ?? (await browser.newPage());
        const started = performance.now();
        await page.goto(new URL('lab', lab.url).toString());
        await page.waitForFunction(() => (window as any).jupyterapp !== undefined, undefined, {
          timeout: 60_000
        });
        await page.evaluate(() => (window as any).jupyterapp.restored);
        times.push((performance.now() - started) / 1000);
      } finally {
        await browser.close();
        rmSync(profile, { recursive: true, force: true });
      }
    }
  } finally {
    await lab.stop();
  }
  return times;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main(): Promise<void> {
  // The TypeScript packages the app bundles must be compiled first (not timed).
  execFileSync('npx', ['tsc', '-b'], { cwd: REPO_ROOT, stdio: 'inherit' });
  const rows = [];
  for (const v of variants) {
    process.stderr.write(`building ${v.name}…\n`);
    const buildS = timeBuild(v.script);
    const gz = gzippedJsBytes(v.dir);
    process.stderr.write(`measuring restore time of ${v.name} (${RUNS} runs)…\n`);
    const restore = await restoreTimes(v.dir);
    rows.push({ ...v, buildS, gz, restore });
  }
  const [ins, base] = rows;
  const kb = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
  console.log('\nInsighter Lab vs. the same JupyterLab without Insighter\'s extensions');
  console.log('| build | production build (s) | gzipped JS | restore in Chromium, median of ' + RUNS + ' (s) |');
  console.log('|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.name} | ${r.buildS.toFixed(1)} | ${kb(r.gz)} | ${median(r.restore).toFixed(2)} (${r.restore.map(t => t.toFixed(2)).join(', ')}) |`);
  }
  console.log(`\nInsighter's own extensions: ${kb(ins.gz - base.gz)} gzipped (${(((ins.gz - base.gz) / ins.gz) * 100).toFixed(1)} % of the app)`);
  console.log(`ratios (Insighter / baseline): build ${(ins.buildS / base.buildS).toFixed(2)}×, size ${(ins.gz / base.gz).toFixed(2)}×, restore ${(median(ins.restore) / median(base.restore)).toFixed(2)}×`);
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
