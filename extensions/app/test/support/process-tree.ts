/**
 * What runs on this machine, read from /proc: which processes belong to an
 * Insighter data dir (its path in their environment or command line, and
 * everything under those), and whether ports are free again.
 *
 *   const left = processesOf(dataDir);   // [] once Insighter is gone
 */
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** One letter of proc(5): R, S, D, Z (zombie: ended, not yet reaped), … */
  state: string;
  cmdline: string;
}

function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .join(' ');
    return { pid, ppid: Number(fields[1]), state: fields[0], cmdline };
  } catch {
    return undefined; // Gone meanwhile.
  }
}

/** Every process but zombies (they hold nothing any more). */
export function listProcesses(): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = readProcess(Number(name));
    if (info && info.state !== 'Z') found.push(info);
  }
  return found;
}

function environ(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** A running process (not a zombie) with this pid. */
export function isRunning(pid: number): boolean {
  const info = readProcess(pid);
  return info !== undefined && info.state !== 'Z';
}

/** Processes under `pid` (children, their children, …), itself excluded. */
export function descendantsOf(
  pid: number,
  processes = listProcesses()
): ProcessInfo[] {
  const below: ProcessInfo[] = [];
  const pending = [pid];
  while (pending.length) {
    const parent = pending.pop()!;
    for (const child of processes.filter(p => p.ppid === parent)) {
      below.push(child);
      pending.push(child.pid);
    }
  }
  return below;
}

/**
 * The processes of a data dir: those with `INSIGHTER_DATA_DIR=<dir>` in their
 * environment (server, sidecar, kernels) or the dir in their command line
 * (sandboxed jobs and scoring workers get a bare environment but mount folders
 * of it), and every process under one of them. This test process is left out.
 */
export function processesOf(dataDir: string): ProcessInfo[] {
  const processes = listProcesses();
  const mark = `INSIGHTER_DATA_DIR=${dataDir}`;
  const roots = processes.filter(
    p =>
      p.pid !== process.pid &&
      (p.cmdline.includes(dataDir) || environ(p.pid).includes(mark))
  );
  const all = new Map<number, ProcessInfo>();
  for (const root of roots) {
    all.set(root.pid, root);
    for (const below of descendantsOf(root.pid, processes)) {
      all.set(below.pid, below);
    }
  }
  return [...all.values()].sort((a, b) => a.pid - b.pid);
}

/** Whether nothing listens on `port` at 127.0.0.1 (binding it works). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export function describeProcesses(processes: ProcessInfo[]): string {
  return processes
    .map(
      p =>
        `  ${p.pid} (parent ${p.ppid}, ${p.state}) ${p.cmdline.slice(0, 160)}`
    )
    .join('\n');
}
