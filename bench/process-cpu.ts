// CPU time of a process and everything it started (a sidecar and its
// workers, a Python server and its workers), read from /proc: steadier than
// throughput on a busy machine.
import fs from 'node:fs';

/** A process and all its descendants (the sidecar's scoring worker, gunicorn's workers). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) {
      continue;
    }
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const all = [root];
  for (let i = 0; i < all.length; i++) {
    all.push(...(children.get(all[i]) ?? []));
  }
  return all;
}

/** utime + stime of the processes, in ms. */
export function cpuMs(pids: number[]): number {
  const tick = 1000 / 100; // USER_HZ is 100 on Linux.
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) * tick;
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
}
