// Dataset ingestion (issue 5's benchmark, issue 13's targets): a generated
// CSV (BENCH_MB, default 1024) uploaded through the real sidecar — POST
// /api/v1/datasets streams it through the validator and the profiler (each
// on a thread of its own, as the bytes arrive) into Storage —
// next to its baselines measured in the same run on the same file: `cp`
// and pandas `read_csv(...).describe()`, as the issue names them.
// Targets: upload + validation + profile ≤ 0.5 × pandas'
// describe(include='all') (issue 13; issue 5 asked ≤ 0.25 × describe()),
// the sidecar's peak RSS ≤ 400 MB, the upload part ≥ 0.5 × cp's
// throughput. Besides wall
// times it reports CPU-seconds (all threads), which a loaded machine
// distorts far less. Results also go to bench/results/datasets-*.json.
// For context, in the same run: pandas' describe(include='all') (text
// columns too, as the profile has them), cp followed by sync of the copy
// (the disk, not the page cache), the validator and profiler alone (each
// in its own process: the profiler with the validation thread that feeds
// it), and DuckDB merely reading every column of the file
// (`count` of each, types given): the least any DuckDB profile costs here.
// Needs server/lib built (`npm run bench` builds it).
// Run: BENCH_MB=1024 node bench/datasets/run.mjs
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { generateCsvFile } from './generate-csv.mjs';

const root = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../..'
);
const megabytesWanted = Number(process.env.BENCH_MB ?? 1024);
const TARGETS = {
  pandasAllShare: 0.5,
  pandasShare: 0.25,
  rssMb: 400,
  cpShare: 0.5
};
/** How often the sidecar's RSS is read (from /proc: costs the sidecar nothing). */
const RSS_POLL_MS = 20;
/**
 * How often its status is asked once all is sent: each ask is a query on
 * the sidecar's (single-threaded, in-process) database, so not too often.
 */
const STATUS_POLL_MS = 100;

const lib = path.join(root, 'server/lib');
if (!fs.existsSync(path.join(lib, 'main.js'))) {
  throw new Error('server/lib is not built: run `npx tsc -b server` first');
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-bench-datasets-'));
const csv = path.join(dir, 'bench.csv');

/** Runs a command under /usr/bin/time -v: wall seconds and peak RSS (MB). */
function timed(command, args, options = {}) {
  const start = performance.now();
  const run = spawnSync('/usr/bin/time', ['-v', command, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    ...options
  });
  const seconds = (performance.now() - start) / 1000;
  if (run.status !== 0) {
    throw new Error(`${command} failed: ${run.stderr.slice(-2000)}`);
  }
  const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(run.stderr);
  const cpu = ['User', 'System']
    .map(kind =>
      Number(
        new RegExp(`${kind} time \\(seconds\\): ([\\d.]+)`).exec(run.stderr)[1]
      )
    )
    .reduce((a, b) => a + b);
  return {
    seconds,
    cpu,
    rssMb: Number(kb[1]) / 1024,
    stdout: run.stdout.trim()
  };
}

/** CPU seconds (user + system) a process has used so far, its threads included. */
function cpuSeconds(pid) {
  const fields = fs
    .readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
  // utime and stime, fields 14 and 15 of stat(5), in clock ticks (100 Hz).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function statusKb(pid, field) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)[1]);
}

/** Starts node server/lib/main.js on its own data dir and port. */
async function startSidecar() {
  const env = {
    ...process.env,
    INSIGHTER_DATA_DIR: path.join(dir, 'data'),
    INSIGHTER_HOST: '127.0.0.1',
    INSIGHTER_API_PORT: '0',
    INSIGHTER_LOG_LEVEL: 'info',
    INSIGHTER_AUTH_AUTOCONFIRM: 'true'
  };
  for (const name of [
    'INSIGHTER_PUBLIC_URL',
    'DATABASE_URL',
    'SUPABASE_URL',
    'INSIGHTER_SMTP_URL',
    'INSIGHTER_MAX_UPLOAD_BYTES',
    'INSIGHTER_STORAGE_MAX_BYTES'
  ]) {
    delete env[name];
  }
  // e.g. BENCH_SIDECAR_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'
  const nodeArgs = (process.env.BENCH_SIDECAR_NODE_ARGS ?? '')
    .split(' ')
    .filter(Boolean);
  const child = spawn(
    process.execPath,
    [...nodeArgs, path.join(lib, 'main.js')],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe']
    }
  );
  let stderr = '';
  child.stderr.on('data', chunk => (stderr += chunk));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`sidecar did not start: ${stderr}`)),
      120_000
    );
    child.once('exit', code => {
      clearTimeout(timer);
      reject(new Error(`sidecar exited (${code}): ${stderr}`));
    });
    readline.createInterface({ input: child.stdout }).on('line', line => {
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'sidecar listening' && entry.url) {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          resolve(entry.url);
        }
      } catch {
        // Not a log line.
      }
    });
  });
  return { child, url };
}

async function json(url, init) {
  const res = await fetch(url, init);
  const body = await res.json();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** A confirmed user (the sidecar runs with auto-confirm) and a project. */
async function signedUpWithProject(url) {
  const { supabase_anon_key: apikey } = await json(`${url}/api/v1/config`);
  const email = `bench-${Date.now()}@insighter.test`;
  const password = 'bench-password-1';
  const headers = { apikey, 'content-type': 'application/json' };
  await json(`${url}/auth/v1/signup`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ email, password, data: { full_name: 'Bench' } })
  });
  const session = await json(`${url}/auth/v1/token?grant_type=password`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ email, password })
  });
  const token = session.access_token;
  const project = await json(`${url}/api/v1/projects`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json'
    },
    body: JSON.stringify({ name: 'Bench', visibility: 'private' })
  });
  return { token, projectId: project.id };
}

/**
 * Streams the file as `text/csv`. Times: the last byte handed to the
 * socket, the record leaving `uploading` (every byte validated and stored;
 * polled only from the last byte on, so the polling's database queries do
 * not slow the upload itself), and the answer (profiled, Ready).
 */
async function upload(url, token, projectId, bytes, pid) {
  const query = new URLSearchParams({
    project_id: projectId,
    name: 'bench.csv'
  });
  const statusOf = async () => {
    const res = await fetch(`${url}/api/v1/datasets?project_id=${projectId}`, {
      headers: { authorization: `Bearer ${token}` }
    });
    const { datasets } = await res.json();
    return datasets.find(d => d.name === 'bench.csv')?.status;
  };
  let peakRssKb = 0;
  let peakRssStoringKb = 0;
  let sentAt;
  let storedAt;
  let cpuAtStored;
  let polling = true;
  const cpuAtStart = cpuSeconds(pid);
  const start = performance.now();
  const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
  const pollers = Promise.all([
    (async () => {
      while (polling) {
        const rss = statusKb(pid, 'VmRSS');
        peakRssKb = Math.max(peakRssKb, rss);
        if (storedAt === undefined) {
          peakRssStoringKb = Math.max(peakRssStoringKb, rss);
        }
        await sleep(RSS_POLL_MS);
      }
    })(),
    (async () => {
      while (polling && storedAt === undefined) {
        if (sentAt !== undefined) {
          const status = await statusOf();
          if (status && status !== 'uploading') {
            storedAt = performance.now();
            cpuAtStored = cpuSeconds(pid);
          }
        }
        await sleep(STATUS_POLL_MS);
      }
    })()
  ]);
  const answer = await new Promise((resolve, reject) => {
    const req = http.request(`${url}/api/v1/datasets?${query}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'text/csv',
        'content-length': bytes
      }
    });
    req.once('finish', () => (sentAt = performance.now()));
    req.once('response', res => {
      const chunks = [];
      res.on('data', chunk => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode,
          body: Buffer.concat(chunks).toString()
        })
      );
      res.on('error', reject);
    });
    req.once('error', reject);
    pipeline(
      fs.createReadStream(csv, { highWaterMark: 1024 * 1024 }),
      req
    ).catch(reject);
  });
  const doneAt = performance.now();
  const cpuAtDone = cpuSeconds(pid);
  polling = false;
  await pollers;
  if (answer.status !== 201) {
    throw new Error(
      `upload answered ${answer.status}: ${answer.body.slice(0, 500)}`
    );
  }
  return {
    record: JSON.parse(answer.body),
    sent: (sentAt - start) / 1000,
    stored: ((storedAt ?? doneAt) - start) / 1000,
    total: (doneAt - start) / 1000,
    cpuStoring: (cpuAtStored ?? cpuAtDone) - cpuAtStart,
    cpuTotal: cpuAtDone - cpuAtStart,
    polledPeakRssMb: peakRssKb / 1024,
    polledPeakRssStoringMb: peakRssStoringKb / 1024
  };
}

async function stopSidecar(child) {
  child.kill('SIGTERM');
  await new Promise(resolve => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, 15_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Through the sidecar as a user meets it: started once to create its
 * database (PGlite's initdb alone peaks near 1 GB), then restarted on the
 * same data dir; its RSS peak is reset once it is up and set up.
 */
async function throughSidecar(bytes) {
  await stopSidecar((await startSidecar()).child);
  const { child, url } = await startSidecar();
  try {
    const { token, projectId } = await signedUpWithProject(url);
    const startupPeakMb = statusKb(child.pid, 'VmHWM') / 1024;
    const idleMb = statusKb(child.pid, 'VmRSS') / 1024;
    // Linux: 5 resets the peak RSS to the current RSS (we are root here).
    let resetPeak = true;
    try {
      fs.writeFileSync(`/proc/${child.pid}/clear_refs`, '5');
    } catch {
      resetPeak = false;
    }
    const result = await upload(url, token, projectId, bytes, child.pid);
    const ingestPeakMb = resetPeak
      ? statusKb(child.pid, 'VmHWM') / 1024
      : result.polledPeakRssMb;
    return {
      ...result,
      startupPeakMb,
      idleMb,
      ingestPeakMb,
      storingPeakMb: result.polledPeakRssStoringMb
    };
  } finally {
    await stopSidecar(child);
  }
}

const validateScript = `
const { validateDatasetFile } = require(${JSON.stringify(lib + '/datasets/validate')});
validateDatasetFile(process.argv[1]).then(r => {
  if (!r.ok) throw new Error(r.reason);
  console.log('rows ' + r.rows);
});`;
const profileScript = `
const { profileDataset } = require(${JSON.stringify(lib + '/datasets/profile')});
profileDataset(process.argv[1], 'csv').then(p => {
  console.log('rows ' + p.row_count + ', sample ' + p.sample_rows);
});`;
const pandasScript =
  "import sys, pandas; print('describe', pandas.read_csv(sys.argv[1]).describe().shape)";
const pandasAllScript =
  "import sys, pandas; print('describe', pandas.read_csv(sys.argv[1]).describe(include='all').shape)";

const load = () =>
  os
    .loadavg()
    .map(l => l.toFixed(1))
    .join(' ');
const fmt = (value, digits = 2) => value.toFixed(digits);

try {
  const loadBefore = load();
  const { bytes, rows } = generateCsvFile(csv, megabytesWanted);
  const mb = bytes / 2 ** 20;
  execFileSync('sync');
  console.log(
    `datasets: ${fmt(mb, 0)} MB CSV, ${rows} rows, ${os.availableParallelism()} cores, load ${loadBefore}`
  );

  const copy = path.join(dir, 'copy.csv');
  const cp = timed('cp', [csv, copy]);
  fs.rmSync(copy);
  const cpSync = timed('sh', ['-c', 'cp "$0" "$1" && sync "$1"', csv, copy]);
  fs.rmSync(copy);
  const pandas = timed('/usr/bin/python3', ['-c', pandasScript, csv]);
  const pandasAll = timed('/usr/bin/python3', ['-c', pandasAllScript, csv]);
  const sidecar = await throughSidecar(bytes);
  const validate = timed(process.execPath, ['-e', validateScript, csv]);
  const profile = timed(process.execPath, [
    '-e',
    profileScript,
    csv,
    String(rows)
  ]);
  const engineFloor = timed(process.execPath, [
    path.join(root, 'bench/datasets/engine-floor.cjs'),
    csv
  ]);

  if (sidecar.record.row_count !== rows) {
    throw new Error(
      `the sidecar counted ${sidecar.record.row_count} rows, not ${rows}`
    );
  }
  const line = (label, seconds, cpu, rss, note = '') =>
    console.log(
      `  ${label.padEnd(44)} ${fmt(seconds).padStart(7)} s ${fmt(mb / seconds, 0).padStart(6)} MB/s ` +
        `${cpu === undefined ? ' '.repeat(13) : `${fmt(cpu).padStart(7)} CPU-s`} ` +
        `${rss === undefined ? ' '.repeat(18) : `peak RSS ${fmt(rss, 0).padStart(4)} MB`} ${note}`
    );
  console.log(`  ${''.padEnd(44)}    wall     throughput    CPU (all threads)`);
  line('cp', cp.seconds, cp.cpu, cp.rssMb);
  line('  context: cp, then sync of the copy', cpSync.seconds, cpSync.cpu);
  line(
    'pandas read_csv().describe()',
    pandas.seconds,
    pandas.cpu,
    pandas.rssMb
  );
  line(
    "  context: pandas describe(include='all')",
    pandasAll.seconds,
    pandasAll.cpu,
    pandasAll.rssMb
  );
  line('sidecar upload: last byte sent', sidecar.sent);
  line(
    'sidecar upload: validated + stored',
    sidecar.stored,
    sidecar.cpuStoring,
    sidecar.storingPeakMb
  );
  line(
    'sidecar upload + validation + profile',
    sidecar.total,
    sidecar.cpuTotal,
    sidecar.ingestPeakMb,
    `(${sidecar.record.status})`
  );
  line(
    '  breakdown: validator alone',
    validate.seconds,
    validate.cpu,
    validate.rssMb,
    validate.stdout
  );
  line(
    '  breakdown: validation + profile threads alone',
    profile.seconds,
    profile.cpu,
    profile.rssMb,
    profile.stdout
  );
  line(
    '  floor: DuckDB reading every column',
    engineFloor.seconds,
    engineFloor.cpu,
    engineFloor.rssMb,
    engineFloor.stdout
  );
  console.log(
    `  sidecar RSS: ${fmt(sidecar.idleMb, 0)} MB idle before the upload (peak ${fmt(sidecar.startupPeakMb, 0)} MB since its restart), ` +
      `${fmt(sidecar.ingestPeakMb, 0)} MB peak during it: the upload added ${fmt(sidecar.ingestPeakMb - sidecar.idleMb, 0)} MB`
  );
  console.log(
    `  CPU-seconds (load-independent): sidecar ${fmt(sidecar.cpuTotal)} = ${fmt(sidecar.cpuTotal / pandas.cpu)} × pandas ${fmt(pandas.cpu)}; ` +
      `its upload part ${fmt(sidecar.cpuStoring)}, profile ${fmt(sidecar.cpuTotal - sidecar.cpuStoring)}`
  );
  const pandasShare = sidecar.total / pandas.seconds;
  const pandasAllShare = sidecar.total / pandasAll.seconds;
  const cpShare = cp.seconds / sidecar.stored;
  const verdict = ok => (ok ? 'met' : 'NOT met');
  console.log(
    `  upload+validation+profile = ${fmt(pandasShare)} × pandas (target ≤ ${TARGETS.pandasShare}: ${verdict(pandasShare <= TARGETS.pandasShare)}); ` +
      `upload part = ${fmt(cpShare)} × cp throughput (target ≥ ${TARGETS.cpShare}: ${verdict(cpShare >= TARGETS.cpShare)}); ` +
      `peak RSS ${fmt(sidecar.ingestPeakMb, 0)} MB (target ≤ ${TARGETS.rssMb}: ${verdict(sidecar.ingestPeakMb <= TARGETS.rssMb)})`
  );
  console.log(
    `  issue 13: upload+validation+profile = ${fmt(pandasAllShare)} × pandas describe(include='all') ` +
      `(target ≤ ${TARGETS.pandasAllShare}: ${verdict(pandasAllShare <= TARGETS.pandasAllShare)}); ` +
      `peak RSS ${fmt(sidecar.ingestPeakMb, 0)} MB (target ≤ ${TARGETS.rssMb}: ${verdict(sidecar.ingestPeakMb <= TARGETS.rssMb)})`
  );
  // What the targets mean against the context lines of this same run.
  console.log(
    `  context: the whole = ${fmt(pandasAllShare)} × pandas describe(include='all'); ` +
      `upload part = ${fmt(cpSync.seconds / sidecar.stored)} × cp-then-sync; ` +
      `DuckDB only reading every column = ${fmt(engineFloor.seconds / pandas.seconds)} × pandas describe() ` +
      `(${fmt(engineFloor.cpu)} CPU-s on ${os.availableParallelism()} cores; the target allows ${fmt(TARGETS.pandasShare * pandas.seconds)} s for everything)`
  );
  const loadAfter = load();
  console.log(`  load ${loadBefore} before, ${loadAfter} after`);
  const results = path.join(root, 'bench/results');
  fs.mkdirSync(results, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  fs.writeFileSync(
    path.join(results, `datasets-${stamp}.json`),
    JSON.stringify(
      {
        megabytes: mb,
        rows,
        cores: os.availableParallelism(),
        load: { before: loadBefore, after: loadAfter },
        cp,
        cpSync,
        pandas,
        pandasAll,
        sidecar: { ...sidecar, record: undefined },
        validator: validate,
        profiler: profile,
        engineFloor,
        ratios: { pandasShare, pandasAllShare, cpShare },
        targets: TARGETS
      },
      null,
      2
    )
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
