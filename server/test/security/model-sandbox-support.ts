import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PYTHON } from '../../src/jobs/training-package';
import type { JobsSidecar, Person } from '../jobs/harness';

/**
 * What the model-sandbox suites share: the crafted model of issue 12 (a
 * pickle that runs code when loaded, fixtures/crafted_model.py), reading what
 * it found, deploying and waiting, and looking at a sandboxed process from
 * outside through /proc (its user, its namespaces, the files it can see).
 */
const CRAFTED_MODEL = path.join(__dirname, 'fixtures', 'crafted_model.py');
const run = promisify(execFile);

export interface ProbeConfig {
  /** label → a path the model tries to read (a file) or list (a folder). */
  read: Record<string, string>;
  /** Paths it tries to write. */
  write: string[];
  /** A path it `touch`es with os.system. */
  system: string;
  /** A folder whose files it lists. */
  walk: string;
  /** The sidecar's TCP port, which it tries to connect to. */
  port: number;
}

/** What the crafted model found where it was unpickled. */
export interface ProbeResult {
  uid: number;
  gid: number;
  id: string;
  read: Record<string, string>;
  write: string[];
  system: number;
  seen: string[];
  tcp: string;
  env: string[];
}

export const NOBODY = 65534;
/** Names of variables that would carry the sidecar's secrets. */
const SECRET_ENV = /DATABASE|SUPABASE|JWT|SECRET|PASSWORD|MLFLOW|DOCKER|SMTP/;

/** What a crafted model looks for: a sidecar's data dir and port, and a file of another user's. */
export interface SandboxedSidecar {
  dataDir: string;
  port: number;
  victimObject: string;
}

/** The crafted model's errands, with paths of this sidecar's data dir; `marker` names what it writes. */
export function probeConfigFor(
  sidecar: SandboxedSidecar,
  marker: string
): ProbeConfig {
  const secrets = path.join(sidecar.dataDir, 'secrets');
  return {
    read: {
      secrets,
      secret_file: path.join(secrets, fs.readdirSync(secrets)[0]),
      db: path.join(sidecar.dataDir, 'db'),
      storage: path.join(sidecar.dataDir, 'storage'),
      other_users_object: sidecar.victimObject
    },
    write: [
      path.join(sidecar.dataDir, `${marker}-data-dir`),
      path.join(os.tmpdir(), `${marker}-tmp`),
      path.join(os.homedir(), `${marker}-home`)
    ],
    system: path.join(sidecar.dataDir, `${marker}-system`),
    walk: sidecar.dataDir,
    port: sidecar.port
  };
}

/** Nothing the crafted model wrote exists on the host. */
export function expectNothingWritten(config: ProbeConfig): void {
  for (const file of [...config.write, config.system]) {
    expect({ file, exists: fs.existsSync(file) }).toEqual({
      file,
      exists: false
    });
  }
}

/** What the crafted model found, unpickled in a sandbox for the deployment `deploymentId`. */
export function expectSandboxed(
  probe: ProbeResult | undefined,
  deploymentId: string
): void {
  expect(probe).toBeDefined();
  expect(probe!.uid).toBe(NOBODY);
  expect(probe!.gid).toBe(NOBODY);
  expect(probe!.id).toMatch(/^uid=65534\b/);
  expect(probe!.id).not.toMatch(/\(root\)/);
  // None of the data dir's secrets, database, storage or other users' objects is there.
  expect(probe!.read).toEqual({
    secrets: 'ENOENT',
    secret_file: 'ENOENT',
    db: 'ENOENT',
    storage: 'ENOENT',
    other_users_object: 'ENOENT'
  });
  // Of the data dir, only its own model's files.
  expect(probe!.seen).toEqual([
    `deployments/${deploymentId}/model/MLmodel`,
    `deployments/${deploymentId}/model/model.pkl`
  ]);
  // The data dir is not its to write; its /tmp is its own (written there, not on the host); no home.
  expect(probe!.write).toEqual(['EACCES', 'written', 'ENOENT']);
  expect(probe!.system).not.toBe(0);
  // Its own empty network: the sidecar's port is not there.
  expect(probe!.tcp).toBe('ECONNREFUSED');
  expect(probe!.env.filter(name => SECRET_ENV.test(name))).toEqual([]);
}

/** A folder with MLmodel and the crafted model.pkl. */
export async function craftedModel(config: ProbeConfig): Promise<string> {
  const dir = fs.mkdtempSync(
    path.join(os.tmpdir(), 'insighter-crafted-model-')
  );
  await run(PYTHON, [CRAFTED_MODEL, dir, JSON.stringify(config)], {
    timeout: 60_000
  });
  return dir;
}

/** The crafted model's findings, from the text the worker last wrote (a deployment's error). */
export function probeIn(
  text: string | null | undefined
): ProbeResult | undefined {
  const found = /PROBE (\{.*\})/.exec(text ?? '');
  return found ? (JSON.parse(found[1]) as ProbeResult) : undefined;
}

/** Deploys `version` of the project's model and answers the deployment once it is ready or failed. */
export async function deployAndWait(
  t: JobsSidecar,
  person: Person,
  projectId: string,
  version: number,
  timeoutMs = 90_000
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; body: any }> {
  const created = await t.api(person, 'POST', '/api/v1/deployments', {
    project_id: projectId,
    version
  });
  if (created.status !== 201) {
    return created;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await t.api(
      person,
      'GET',
      `/api/v1/deployments/${created.body.id}`
    );
    if (['ready', 'failed'].includes(res.body?.status)) {
      return res;
    }
    if (Date.now() > deadline) {
      throw new Error(`deployment still ${JSON.stringify(res.body)}`);
    }
    await new Promise(resolve => setTimeout(resolve, 100));
  }
}

/** Pids of Python processes whose argv holds every one of `markers`. */
export function pythonProcesses(...markers: string[]): number[] {
  return fs
    .readdirSync('/proc')
    .filter(name => /^\d+$/.test(name))
    .filter(pid => {
      try {
        const argv = fs
          .readFileSync(`/proc/${pid}/cmdline`, 'utf8')
          .split('\0');
        return argv[0] === PYTHON && markers.every(m => argv.includes(m));
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Waits for the one Python process with `markers` in its argv. */
export async function waitForPython(
  markers: string[],
  timeoutMs = 60_000
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [pid] = pythonProcesses(...markers);
    if (pid) {
      return pid;
    }
    if (Date.now() > deadline) {
      throw new Error(`no Python process with ${markers.join(' ')}`);
    }
    await new Promise(resolve => setTimeout(resolve, 25));
  }
}

/** How a process runs, seen from outside: its real user, whether it shares our network and files, what it sees of `folder`. */
export interface ProcessView {
  uids: number[];
  capabilities: string;
  ownNetwork: boolean;
  ownMounts: boolean;
  /** Every non-folder entry under `folder` as the process sees it, relative to it. */
  seen: string[];
}

export function viewOf(pid: number, folder: string): ProcessView {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const uids = /^Uid:\s+(.*)$/m
    .exec(status)![1]
    .trim()
    .split(/\s+/)
    .map(Number);
  const capabilities = /^CapEff:\s+(\S+)$/m.exec(status)![1];
  const ns = (which: string, of: string) =>
    fs.readlinkSync(`/proc/${of}/ns/${which}`);
  const seen: string[] = [];
  const root = `/proc/${pid}/root`;
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(root, dir), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const inner = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(inner);
      } else {
        seen.push(path.relative(folder, inner));
      }
    }
  };
  walk(folder);
  return {
    uids,
    capabilities,
    ownNetwork: ns('net', String(pid)) !== ns('net', 'self'),
    ownMounts: ns('mnt', String(pid)) !== ns('mnt', 'self'),
    seen: seen.sort()
  };
}

/** Every file under a folder on the host, relative to it. */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) {
    return [];
  }
  return (
    fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[]
  )
    .filter(entry => entry.isFile())
    .map(entry =>
      path.relative(
        dir,
        path.join(entry.parentPath, entry.name)
      )
    );
}
