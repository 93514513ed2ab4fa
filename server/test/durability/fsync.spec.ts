import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';
import { pgliteSnapshot } from '../support/postgres';
import { exited, startSidecarProcess } from '../support/sidecar-process';
import {
  seededDataDir,
  sidecarApi,
  signUpOnSidecar
} from '../support/sidecar-user';

/**
 * What a power cut would take is what never reached the disk: the real
 * sidecar (embedded PGlite and Storage), watched by strace, must fsync the
 * WAL between receiving a write and acknowledging it, and fsync a dataset's
 * stored object (and its folder) before the dataset is ready. With
 * INSIGHTER_DURABILITY=off it fsyncs neither. (A SIGKILL cannot show this:
 * the page cache outlives the process; see crash.spec.ts for that.)
 */
const STRACE = '/usr/bin/strace';

interface Sync {
  /** When the fsync returned (epoch ms). */
  doneMs: number;
  file: string;
}

describe.each([
  ['on', true],
  ['off', false]
])('INSIGHTER_DURABILITY=%s', (setting, durable) => {
  let dataDir: string;
  let sidecar: ChildProcess | undefined;
  let tracer: ChildProcess | undefined;

  afterAll(async () => {
    if (tracer && tracer.exitCode === null) {
      tracer.kill('SIGINT');
      await exited(tracer);
    }
    if (sidecar && sidecar.exitCode === null && sidecar.signalCode === null) {
      sidecar.kill('SIGTERM');
      await exited(sidecar);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it(`${durable ? 'fsyncs' : 'does not fsync'} each acknowledged commit and stored object`, async () => {
    dataDir = await seededDataDir(
      'insighter-fsync',
      pgliteSnapshot('migrated')
    );
    const started = await startSidecarProcess(dataDir, {
      INSIGHTER_AUTH_AUTOCONFIRM: 'true',
      INSIGHTER_DURABILITY: setting
    });
    sidecar = started.process;
    const user = await signUpOnSidecar(started.url, 'Fran Fsync');
    const api = sidecarApi(() => started.url, user.token);
    const project = await api('POST', '/api/v1/projects', {
      name: 'Synced'
    });
    expect(project.status).toBe(201);

    const trace = path.join(dataDir, 'strace.txt');
    tracer = await attachStrace(sidecar.pid!, trace);

    // Writes one after another, each timed from send to answer.
    const acknowledged: { sentMs: number; answeredMs: number }[] = [];
    for (let i = 0; i < 5; i++) {
      const sentMs = nowMs();
      const created = await api('POST', '/api/v1/projects', {
        name: `Synced ${i}`
      });
      expect(created.status).toBe(201);
      acknowledged.push({ sentMs, answeredMs: nowMs() });
    }
    const uploadSent = nowMs();
    const dataset = await api(
      'POST',
      `/api/v1/datasets?project_id=${project.body.id}&name=synced`,
      'a,b\n1,2\n3,4\n',
      'text/csv'
    );
    expect(dataset.status).toBe(201);
    expect(dataset.body.status).toBe('ready');
    const uploadAnswered = nowMs();

    tracer.kill('SIGINT');
    await exited(tracer);
    const { threads, syncs } = readTrace(trace);
    // strace followed the sidecar's threads (main, PGlite's, the thread pool's).
    expect(threads).toBeGreaterThan(2);
    const wal = syncs.filter(s =>
      s.file.includes(`${path.sep}pg_wal${path.sep}`)
    );
    const storage = path.join(dataDir, 'storage');
    const objects = syncs.filter(s => s.file.startsWith(storage));

    if (!durable) {
      expect(wal).toEqual([]);
      expect(objects).toEqual([]);
      return;
    }
    // Each project was on the disk before its 201 left.
    for (const { sentMs, answeredMs } of acknowledged) {
      expect(
        wal.filter(s => s.doneMs > sentMs && s.doneMs < answeredMs)
      ).not.toEqual([]);
    }
    // The dataset's bytes (a temp file then, renamed into place) and the
    // folder it landed in, before it was answered as ready.
    const during = objects.filter(
      s => s.doneMs > uploadSent && s.doneMs < uploadAnswered
    );
    expect(during.map(s => path.relative(storage, s.file))).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\.tmp\/[0-9a-f-]+\.part$/),
        expect.stringMatching(new RegExp(`^uploads/${user.id}/`))
      ])
    );
  }, 120_000);
});

describe('INSIGHTER_DURABILITY', () => {
  it('is on unless set to off, and refuses anything else by name', () => {
    expect(loadConfig({}).durable).toBe(true);
    expect(loadConfig({ INSIGHTER_DURABILITY: 'on' }).durable).toBe(true);
    expect(loadConfig({ INSIGHTER_DURABILITY: 'off' }).durable).toBe(false);
    expect(() => loadConfig({ INSIGHTER_DURABILITY: 'false' })).toThrow(
      ConfigError
    );
    expect(() => loadConfig({ INSIGHTER_DURABILITY: 'false' })).toThrow(
      /INSIGHTER_DURABILITY/
    );
  });
});

/**
 * strace on every thread of `pid`: fsync and fdatasync with their files and
 * times, one file per thread (`<output>.<tid>`), so that no call is split
 * over two lines by another thread's.
 */
async function attachStrace(
  pid: number,
  output: string
): Promise<ChildProcess> {
  const tracer = spawn(
    STRACE,
    [
      '-ff',
      '-p',
      String(pid),
      '-y',
      '-ttt',
      '-T',
      '-e',
      'trace=fsync,fdatasync',
      '-o',
      output
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] }
  );
  // strace says "Process <tid> attached" for each thread; then it traces.
  await new Promise<void>((resolve, reject) => {
    let said = '';
    const timer = setTimeout(
      () => reject(new Error(`strace did not attach: ${said}`)),
      20_000
    );
    tracer.stderr!.on('data', chunk => {
      said += chunk;
      if (said.includes('attached')) {
        clearTimeout(timer);
        // Every thread is attached by the time strace reports the last one.
        setTimeout(resolve, 500);
      }
    });
    tracer.once('exit', code => {
      clearTimeout(timer);
      reject(new Error(`strace exited (${code}): ${said}`));
    });
  });
  return tracer;
}

/** The threads traced, and the `1733…123.456789 fsync(23</path/to/file>) = 0 <0.001234>` lines of their files. */
function readTrace(output: string): { threads: number; syncs: Sync[] } {
  const line = /^(\d+\.\d+) f(?:data)?sync\(\d+<([^>]*)>\) = 0 <(\d+\.\d+)>$/;
  const dir = path.dirname(output);
  const files = fs
    .readdirSync(dir)
    .filter(name => name.startsWith(`${path.basename(output)}.`));
  const syncs = files
    .flatMap(name => fs.readFileSync(path.join(dir, name), 'utf8').split('\n'))
    .map(text => line.exec(text))
    .filter(match => match !== null)
    .map(match => ({
      doneMs: (Number(match[1]) + Number(match[3])) * 1000,
      file: match[2]
    }));
  return { threads: files.length, syncs };
}

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
