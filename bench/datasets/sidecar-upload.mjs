// A dataset upload through the real sidecar (HTTP → validator + SHA-256 →
// supabase-js → embedded /storage/v1, and the spool file → DuckDB profile),
// next to the baselines the issue names, all in one run on one file:
// `cp` of the file, and pandas `read_csv(...).describe()`.
//   BENCH_MB=1024 node bench/datasets/sidecar-upload.mjs
// The sidecar runs from its TypeScript sources (transpiled on load, no build)
// in its own process with a fresh data dir; its peak RSS is the kernel's
// VmHWM. "receive" is from the first byte to the last stored (the upload
// part, compared with cp); "profile" is the rest until the answer.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { generateCsv } from './generate-csv.mjs';

const root = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../..'
);
const megabytes = Number(process.env.BENCH_MB ?? 1024);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-bench-upload-'));
const csv = path.join(dir, 'bench.csv');
const dataDir = path.join(dir, 'data');

function timed(command, args) {
  const start = process.hrtime.bigint();
  const run = spawnSync(command, args, { encoding: 'utf8' });
  if (run.status !== 0) {
    throw new Error(`${command} failed: ${run.stderr.slice(-2000)}`);
  }
  return {
    seconds: Number(process.hrtime.bigint() - start) / 1e9,
    stdout: run.stdout.trim()
  };
}

function startSidecar() {
  const env = {
    ...process.env,
    INSIGHTER_DATA_DIR: dataDir,
    INSIGHTER_HOST: '127.0.0.1',
    INSIGHTER_API_PORT: '0',
    INSIGHTER_LOG_LEVEL: 'info',
    INSIGHTER_AUTH_AUTOCONFIRM: 'true'
  };
  for (const name of ['DATABASE_URL', 'SUPABASE_URL', 'INSIGHTER_PUBLIC_URL'])
    delete env[name];
  // e.g. BENCH_SIDECAR_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to see where time goes.
  const nodeArgs = (process.env.BENCH_SIDECAR_NODE_ARGS ?? '')
    .split(' ')
    .filter(Boolean);
  const child = spawn(
    process.execPath,
    [...nodeArgs, path.join(root, 'server/test/auth/sidecar-child.js')],
    {
      env,
      stdio: ['ignore', 'pipe', 'inherit']
    }
  );
  const logs = [];
  const listening = new Promise((resolve, reject) => {
    child.once('exit', code => reject(new Error(`sidecar exited (${code})`)));
    readline.createInterface({ input: child.stdout }).on('line', line => {
      try {
        const entry = JSON.parse(line);
        logs.push(entry);
        if (entry.msg === 'sidecar listening') resolve(entry.url);
      } catch {
        // not a log line
      }
    });
  });
  return { child, logs, listening };
}

async function json(url, init) {
  const res = await fetch(url, init);
  const body = await res.json();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

function upload(url, token, query, file) {
  const size = fs.statSync(file).size;
  const target = new URL(`${url}/api/v1/datasets`);
  target.search = new URLSearchParams(query).toString();
  return new Promise((resolve, reject) => {
    const req = http.request(target, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'text/csv',
        'content-length': String(size)
      }
    });
    req.on('response', res => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', chunk => (body += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode, body: JSON.parse(body) })
      );
    });
    req.on('error', reject);
    fs.createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(req);
  });
}

const sidecar = startSidecar();
try {
  const bytes = generateCsv(csv, megabytes);
  const mb = bytes / (1024 * 1024);
  console.log(`generated ${mb.toFixed(0)} MB CSV in ${dir}`);
  spawnSync('sync');

  const cp = timed('cp', [csv, path.join(dir, 'copy.csv')]);
  fs.rmSync(path.join(dir, 'copy.csv'));

  const url = await sidecar.listening;
  const { supabase_anon_key: anonKey } = await json(`${url}/api/v1/config`);
  const session = await json(`${url}/auth/v1/signup`, {
    method: 'POST',
    headers: { apikey: anonKey, 'content-type': 'application/json' },
    body: JSON.stringify({
      email: `bench${Date.now()}@example.com`,
      password: 'bench-pass-42',
      data: { full_name: 'Bench Mark' }
    })
  });
  const token = session.access_token;
  const project = await json(`${url}/api/v1/projects`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json'
    },
    body: JSON.stringify({ name: 'Benchmark' })
  });

  const start = process.hrtime.bigint();
  const answer = await upload(
    url,
    token,
    { project_id: project.id, name: 'bench' },
    csv
  );
  const total = Number(process.hrtime.bigint() - start) / 1e9;
  if (answer.status !== 201)
    throw new Error(`upload: ${answer.status} ${JSON.stringify(answer.body)}`);
  const stages = sidecar.logs.find(l => l.msg === 'dataset ready');
  const peak = /VmHWM:\s+(\d+) kB/.exec(
    fs.readFileSync(`/proc/${sidecar.child.pid}/status`, 'utf8')
  );

  const pandas = timed('/usr/bin/python3', [
    '-c',
    'import sys, pandas; print(pandas.read_csv(sys.argv[1]).describe().shape)',
    csv
  ]);

  const receive = stages.receiveMs / 1000;
  const profile = stages.profileMs / 1000;
  const line = (label, seconds) =>
    console.log(
      `${label.padEnd(34)} ${seconds.toFixed(2).padStart(7)} s ${(mb / seconds).toFixed(0).padStart(6)} MB/s`
    );
  line('cp', cp.seconds);
  line('sidecar: receive + store (upload)', receive);
  line('sidecar: profile + commit', profile);
  line('sidecar: whole request', total);
  // CPU seconds of the sidecar process: steadier than wall time on a shared machine.
  console.log(
    `sidecar CPU: receive ${(stages.receiveCpuMs / 1000).toFixed(2)} s (${(mb / (stages.receiveCpuMs / 1000)).toFixed(0)} MB per CPU-s), ` +
      `profile ${(stages.profileCpuMs / 1000).toFixed(2)} s`
  );
  line('pandas read_csv().describe()', pandas.seconds);
  console.log(
    `rows ${answer.body.row_count}, columns ${answer.body.column_count}; ` +
      `upload throughput ${(cp.seconds / receive).toFixed(2)} × cp (target ≥ 0.5); ` +
      `whole upload ${(total / pandas.seconds).toFixed(2)} × pandas (target ≤ 0.25); ` +
      `sidecar peak RSS ${(Number(peak[1]) / 1024).toFixed(0)} MB (target ≤ 400)`
  );
} finally {
  sidecar.child.kill('SIGTERM');
  await new Promise(resolve => sidecar.child.once('exit', resolve));
  fs.rmSync(dir, { recursive: true, force: true });
}
