import fs from 'node:fs';
import {
  creditRows,
  fixtureModel,
  registerVersion
} from '../deployments/harness';
import {
  BACKENDS,
  pgliteSnapshot,
  scratchPostgresDatabase,
  type ScratchDatabase
} from '../support/postgres';
import {
  exited,
  startSidecarProcess,
  type SidecarProcess
} from '../support/sidecar-process';
import {
  projectExperimentId,
  seededDataDir,
  sidecarApi,
  signUpOnSidecar,
  type ApiAnswer,
  type SidecarApi
} from '../support/sidecar-user';

/**
 * Nothing acknowledged is lost: 400 writes through the public API —
 * projects, metric batches, dataset uploads, deployments — four at a time,
 * while the real sidecar is SIGKILLed at random moments and restarted the
 * way the Jupyter server's supervisor does (sidecar.py: again after half a
 * second). After each restart, every write that was answered 2xx is there,
 * whole; at the end nothing half-made is visible: no metric batch in part,
 * no dataset that is not ready with all its bytes, no deployment stuck
 * starting, and the project's model serves.
 *
 * The moments come from a seeded generator (INSIGHTER_CRASH_SEED repeats a
 * run; the seed is printed). A SIGKILL ends the process, not the machine:
 * the OS page cache survives it, so this shows that no acknowledged write
 * waits in the sidecar's memory; that it also reached the disk (a power cut)
 * is what fsync.spec.ts shows.
 */
const WRITES = 400;
const IN_FLIGHT = 4;
const METRICS_PER_BATCH = 25;
/** sidecar.py's first restart delay. */
const RESTART_DELAY_MS = 500;
/** Uptime before the next kill: long enough for some writes, short enough to land inside them. */
const KILL_AFTER_MS: [number, number] = [300, 2500];
const WEIGHTS = { project: 35, metrics: 35, dataset: 20, deployment: 10 };

type Kind = keyof typeof WEIGHTS;

interface Write {
  kind: Kind;
  n: number;
  /** The answer, or the network error's message (status 0). */
  answer?: ApiAnswer & { error?: string };
  verified?: boolean;
}

/** mulberry32: small, seeded, good enough to place kills. */
function randomFrom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/**
 * The sidecar in a child process, started again whenever it is killed.
 * Writers wait for `up`; after a restart it opens only once the test has
 * checked the writes acknowledged before the kill.
 */
class Supervisor {
  private child: SidecarProcess | undefined;
  private upNow!: Promise<string>;
  private markUp!: (url: string) => void;
  kills = 0;

  constructor(
    private readonly dataDir: string,
    private readonly env: Record<string, string>
  ) {
    this.down();
  }

  /** The URL of the running sidecar, once it is open to writers. */
  get up(): Promise<string> {
    return this.upNow;
  }

  /** Starts the sidecar; answers its URL (`open` lets the writers in). */
  async start(): Promise<string> {
    this.child = await startSidecarProcess(this.dataDir, this.env);
    return this.child.url;
  }

  open(): void {
    this.markUp(this.child!.url);
  }

  /** SIGKILL, then a new process after sidecar.py's delay; answers its URL. */
  async crash(): Promise<string> {
    const child = this.child!;
    this.down();
    child.process.kill('SIGKILL');
    await exited(child.process);
    this.kills += 1;
    await sleep(RESTART_DELAY_MS);
    return this.start();
  }

  async stop(): Promise<void> {
    const proc = this.child?.process;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await exited(proc);
    }
  }

  private down(): void {
    this.upNow = new Promise(resolve => (this.markUp = resolve));
  }
}

/** Write n's dataset: its own bytes, so a stored object shows whose it is. */
function csvFor(n: number): string {
  const rows = Array.from(
    { length: 20 },
    (_, r) => `${r},${n * 1000 + r},write-${n}`
  );
  return `id,value,tag\n${rows.join('\n')}\n`;
}

describe.each(BACKENDS)('SIGKILLs during 400 writes on %s', backend => {
  const seed = Number(
    process.env.INSIGHTER_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31)
  );
  let dataDir: string;
  let scratch: ScratchDatabase | undefined;
  let supervisor: Supervisor | undefined;

  afterAll(async () => {
    await supervisor?.stop();
    await scratch?.drop();
    if (dataDir) {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it(
    'loses no acknowledged write and shows nothing half-made',
    async () => {
      console.log(
        `crash test on ${backend}: seed ${seed} (INSIGHTER_CRASH_SEED=${seed} repeats it)`
      );
      const random = randomFrom(seed);
      const env: Record<string, string> = {
        INSIGHTER_AUTH_AUTOCONFIRM: 'true',
        INSIGHTER_JOBS_RUNNER: 'process'
      };
      if (backend === 'pglite') {
        dataDir = await seededDataDir(
          'insighter-crash',
          pgliteSnapshot('migrated')
        );
      } else {
        dataDir = fs.mkdtempSync('/tmp/insighter-crash-');
        scratch = await scratchPostgresDatabase();
        env.DATABASE_URL = scratch.url;
      }
      supervisor = new Supervisor(dataDir, env);
      const sup = supervisor;
      let base = await sup.start();
      const user = await signUpOnSidecar(base, 'Cora Crash');
      const api = sidecarApi(() => base, user.token);
      const created = await api('POST', '/api/v1/projects', {
        name: 'Crash test'
      });
      expect(created.status).toBe(201);
      const project = created.body as { id: string; slug: string };
      expect(
        await registerVersion(
          base,
          user.token,
          project.slug,
          await fixtureModel('logistic')
        )
      ).toBe(1);
      const experimentId = await projectExperimentId(api, project.slug);
      const run = await api('POST', '/api/2.0/mlflow/runs/create', {
        experiment_id: experimentId
      });
      expect(run.status).toBe(200);
      const runId = run.body.run.info.run_id as string;

      // The plan: which kind each write is.
      const total = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);
      const writes: Write[] = Array.from({ length: WRITES }, (_, n) => {
        let pick = random() * total;
        const kind = (Object.keys(WEIGHTS) as Kind[]).find(
          k => (pick -= WEIGHTS[k]) < 0
        )!;
        return { kind, n };
      });

      /** One write against whichever sidecar is up; a dropped connection is an answer too. */
      const perform = async (write: Write): Promise<void> => {
        const url = await sup.up;
        const call = sidecarApi(() => url, user.token);
        const { n } = write;
        try {
          switch (write.kind) {
            case 'project':
              write.answer = await call('POST', '/api/v1/projects', {
                name: `p-${n}`
              });
              break;
            case 'metrics':
              write.answer = await call(
                'POST',
                '/api/2.0/mlflow/runs/log-batch',
                {
                  run_id: runId,
                  metrics: Array.from(
                    { length: METRICS_PER_BATCH },
                    (_, step) => ({
                      key: `m${n}`,
                      value: n + step / 100,
                      timestamp: Date.now(),
                      step
                    })
                  )
                }
              );
              break;
            case 'dataset':
              write.answer = await call(
                'POST',
                `/api/v1/datasets?project_id=${project.id}&name=ds-${n}`,
                csvFor(n),
                'text/csv'
              );
              break;
            case 'deployment':
              write.answer = await call('POST', '/api/v1/deployments', {
                project_id: project.id,
                version: 1
              });
              break;
          }
        } catch (err) {
          write.answer = { status: 0, body: undefined, error: String(err) };
        }
      };

      /** Every acknowledged write not checked yet is there, whole. */
      const verify = async (all: boolean): Promise<void> => {
        for (const write of writes) {
          const status = write.answer?.status ?? 0;
          if (status < 200 || status > 299 || (write.verified && !all)) {
            continue;
          }
          await expectPresent(api, write, runId);
          write.verified = true;
        }
      };

      // Writers, four at a time, and the killer beside them.
      const started = Date.now();
      sup.open();
      let next = 0;
      const writers = Array.from({ length: IN_FLIGHT }, async () => {
        while (next < writes.length) {
          await perform(writes[next++]);
        }
      });
      let writing = true;
      const killer = (async () => {
        while (writing) {
          const [least, most] = KILL_AFTER_MS;
          await sleep(least + random() * (most - least));
          if (!writing) {
            return;
          }
          base = await sup.crash();
          await verify(false);
          sup.open();
        }
      })();
      await Promise.all(writers);
      writing = false;
      await killer;
      // One more crash with nothing in flight, then everything is checked.
      base = await sup.crash();
      await verify(true);

      const answered = (kind: Kind, ok: boolean) =>
        writes.filter(
          w =>
            w.kind === kind &&
            (w.answer!.status >= 200 && w.answer!.status < 300) === ok
        ).length;
      console.log(
        `crash test on ${backend}: ${sup.kills} kills in ${((Date.now() - started) / 1000).toFixed(0)} s; ` +
          (Object.keys(WEIGHTS) as Kind[])
            .map(
              kind =>
                `${kind}: ${answered(kind, true)} acknowledged, ${answered(kind, false)} cut off`
            )
            .join('; ')
      );
      // Refusals would mean a write depended on one that was lost; a crash
      // only cuts connections (or, while the database reopens, answers 503).
      // Two deployments of one project at the same moment are refused by
      // design (409): writes run four at a time.
      const refusedByDesign = (w: Write) =>
        w.kind === 'deployment' &&
        w.answer!.status === 409 &&
        w.answer!.body?.error?.code === 'conflict';
      expect(
        writes
          .filter(w => ![0, 503].includes(w.answer!.status))
          .filter(w => w.answer!.status < 200 || w.answer!.status > 299)
          .filter(w => !refusedByDesign(w))
          .map(w => ({ kind: w.kind, n: w.n, answer: w.answer }))
      ).toEqual([]);
      expect(sup.kills).toBeGreaterThanOrEqual(5);
      for (const kind of Object.keys(WEIGHTS) as Kind[]) {
        expect(answered(kind, true)).toBeGreaterThan(0);
      }

      // Nothing half-made: a metric batch is all there or not at all …
      for (const write of writes.filter(w => w.kind === 'metrics')) {
        const history = await api(
          'GET',
          `/api/2.0/mlflow/metrics/get-history?run_id=${runId}&metric_key=m${write.n}`
        );
        expect([0, METRICS_PER_BATCH]).toContain(
          history.body.metrics?.length ?? 0
        );
      }
      // … a project was made once or not at all …
      const projects = await api('GET', '/api/v1/projects');
      const names = (projects.body.projects as { name: string }[]).map(
        p => p.name
      );
      expect(names.length).toBe(new Set(names).size);
      // … uploads cut off are swept (after the restart, in the background),
      // and every dataset left is ready with exactly the bytes it was sent …
      let datasets: { id: string; name: string; status: string }[] = [];
      const deadline = Date.now() + 30_000;
      do {
        await sleep(250);
        datasets = (
          await api('GET', `/api/v1/datasets?project_id=${project.id}`)
        ).body.datasets;
      } while (
        datasets.some(d => d.status !== 'ready') &&
        Date.now() < deadline
      );
      expect(datasets.filter(d => d.status !== 'ready')).toEqual([]);
      for (const dataset of datasets) {
        const n = Number(dataset.name.replace('ds-', ''));
        const content = await fetch(
          `${base}/api/v1/datasets/${dataset.id}/content`,
          { headers: { authorization: `Bearer ${user.token}` } }
        );
        expect(content.status).toBe(200);
        expect(await content.text()).toBe(csvFor(n));
      }
      // … and no deployment is left starting: the restart failed those, and
      // the project's model serves once deployed again.
      const deployments = (
        await api('GET', `/api/v1/deployments?project_id=${project.id}`)
      ).body.deployments as { id: string; status: string }[];
      expect(
        deployments.filter(d => ['pending', 'starting'].includes(d.status))
      ).toEqual([]);
      expect(
        deployments.filter(d => d.status === 'ready').length
      ).toBeLessThanOrEqual(1);
      const again = await api('POST', '/api/v1/deployments', {
        project_id: project.id,
        version: 1
      });
      expect(again.status).toBe(201);
      let serving = again.body as { status: string; error?: string };
      const readyBy = Date.now() + 90_000;
      while (serving.status !== 'ready' && Date.now() < readyBy) {
        expect(serving.status).not.toBe('failed');
        await sleep(250);
        serving = (await api('GET', `/api/v1/deployments/${again.body.id}`))
          .body;
      }
      expect(serving.status).toBe('ready');
      const prediction = await fetch(`${base}/api/v1/predict/${project.slug}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${user.token}`,
          'content-type': 'application/json'
        },
        body: JSON.stringify({
          dataframe_split: creditRows(1)
        })
      });
      expect(prediction.status).toBe(200);
    },
    15 * 60_000
  );
});

/** An acknowledged write, checked through the API: there, and whole. */
async function expectPresent(
  api: SidecarApi,
  write: Write,
  runId: string
): Promise<void> {
  const { n } = write;
  const answer = write.answer!;
  switch (write.kind) {
    case 'project': {
      const got = await api('GET', `/api/v1/projects/${answer.body.id}`);
      expect({ n, status: got.status, name: got.body?.name }).toEqual({
        n,
        status: 200,
        name: `p-${n}`
      });
      return;
    }
    case 'metrics': {
      const got = await api(
        'GET',
        `/api/2.0/mlflow/metrics/get-history?run_id=${runId}&metric_key=m${n}`
      );
      const values = ((got.body?.metrics ?? []) as { value: number }[])
        .map(m => m.value)
        .sort((a, b) => a - b);
      expect({ n, values }).toEqual({
        n,
        values: Array.from(
          { length: METRICS_PER_BATCH },
          (_, step) => n + step / 100
        )
      });
      return;
    }
    case 'dataset': {
      const got = await api('GET', `/api/v1/datasets/${answer.body.id}`);
      expect({
        n,
        status: got.status,
        state: got.body?.status,
        rows: got.body?.row_count
      }).toEqual({
        n,
        status: 200,
        state: 'ready',
        rows: 20
      });
      return;
    }
    case 'deployment': {
      const got = await api('GET', `/api/v1/deployments/${answer.body.id}`);
      expect({
        n,
        status: got.status,
        version: got.body?.model_version
      }).toEqual({
        n,
        status: 200,
        version: 1
      });
      return;
    }
  }
}
