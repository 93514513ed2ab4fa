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

/** A folder with MLmodel and the crafted model.pkl. */
export async function craftedModel(config: ProbeConfig): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-crafted-model-'));
  await run(PYTHON, [CRAFTED_MODEL, dir, JSON.stringify(config)], { timeout: 60_000 });
  return dir;
}

/** The crafted model's findings, from the text the worker last wrote (a deployment's error). */
export function probeIn(text: string | null | undefined): ProbeResult | undefined {
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
  const created = await t.api(person, 'POST', '/api/v1/deployments', { project_id: projectId, version });
  if (created.status !== 201) {
    return created;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await t.api(person, 'GET', `/api/v1/deployments/${created.body.id}`);
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
        const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return argv[0] === PYTHON && markers.every(m => argv.includes(m));
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Waits for the one Python process with `markers` in its argv. */
export async function waitForPython(markers: string[], timeoutMs = 60_000): Promise<number> {
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
  const uids = /^Uid:\s+(.*)$/m.exec(status)![1].trim().split(/\s+/).map(Number);
  const capabilities = /^CapEff:\s+(\S+)$/m.exec(status)![1];
  const ns = (which: string, of: string) => fs.readlinkSync(`/proc/${of}/ns/${which}`);
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
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter(entry => entry.isFile())
    .map(entry => path.relative(dir, path.join(entry.parentPath ?? (entry as { path: string }).path, entry.name)));
}
