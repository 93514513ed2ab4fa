import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcessRunner } from '../../src/jobs/process-runner';
import {
  LineSplitter,
  MAX_LINE_CHARS,
  type JobHandle,
  type JobSpec,
  type LogLine
} from '../../src/jobs/runner';

const PYTHON = '/usr/bin/python3';

/** Every line of a handle, collected while it runs. */
function collect(handle: JobHandle): { lines: LogLine[]; done: Promise<void> } {
  const lines: LogLine[] = [];
  const done = (async () => {
    for await (const line of handle.logs) {
      lines.push(line);
    }
  })();
  return { lines, done };
}

/** A process's state letter, 'Z' for an unreaped zombie, or 'gone'. */
function processState(pid: number): string {
  try {
    return fs
      .readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /s, '')[0];
  } catch {
    return 'gone';
  }
}

describe('LineSplitter', () => {
  it('splits on \\n and \\r\\n, keeps empty lines, and ends with the unfinished last line', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter(line => lines.push(line));
    splitter.write(Buffer.from('one\r\ntw'));
    splitter.write(Buffer.from('o\n\nthree'));
    splitter.end();
    expect(lines).toEqual(['one', 'two', '', 'three']);
  });

  it('decodes UTF-8 split across chunks', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter(line => lines.push(line));
    const bytes = Buffer.from('Ünïcode ✓\n');
    splitter.write(bytes.subarray(0, 1));
    splitter.write(bytes.subarray(1, 10));
    splitter.write(bytes.subarray(10));
    splitter.end();
    expect(lines).toEqual(['Ünïcode ✓']);
  });

  it('cuts a runaway line into bounded pieces, even before its newline comes', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter(line => lines.push(line));
    splitter.write(Buffer.from('x'.repeat(MAX_LINE_CHARS * 2 + 5)));
    expect(lines).toHaveLength(2);
    splitter.write(Buffer.from('\n'));
    splitter.end();
    expect(lines.map(l => l.length)).toEqual([
      MAX_LINE_CHARS,
      MAX_LINE_CHARS,
      5
    ]);
  });
});

describe('ProcessRunner', () => {
  let workDir: string;
  let runner: ProcessRunner;
  let n = 0;

  beforeAll(() => {
    workDir = fs.mkdtempSync(
      path.join(os.tmpdir(), 'insighter-process-runner-')
    );
    runner = new ProcessRunner({ workDir });
  });

  afterAll(() => {
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  const spec = (code: string, extra: Partial<JobSpec> = {}): JobSpec => ({
    jobId: `job-${++n}`,
    projectId: 'project-1',
    command: [PYTHON, '-c', code],
    env: {},
    limits: { memoryMb: 512, cpus: 1 },
    ...extra
  });

  it('is available where prlimit is installed', async () => {
    expect(await runner.availability()).toEqual({
      available: true,
      detail: expect.any(String)
    });
  });

  it('streams stdout and stderr as lines while it runs, then reports the exit code', async () => {
    const handle = await runner.start(
      spec(
        [
          'import sys, time',
          'print("first", flush=True)',
          'time.sleep(0.5)',
          'print("oops", file=sys.stderr, flush=True)',
          'sys.stdout.write("no newline at the end")',
          'sys.exit(3)'
        ].join('\n')
      )
    );
    expect(handle.runner).toBe('process');
    expect(handle.ref).toMatch(/^pid:\d+$/);
    const { lines, done } = collect(handle);
    // The first line arrives while the program still sleeps.
    const started = Date.now();
    while (lines.length === 0) {
      await new Promise(resolve => setTimeout(resolve, 20));
    }
    expect(Date.now() - started).toBeLessThan(450);
    const exit = await handle.wait();
    await done;
    expect(exit).toEqual({
      exitCode: 3,
      signal: null,
      oomKilled: false,
      stopped: false
    });
    expect(lines.map(l => [l.stream, l.text])).toEqual([
      ['stdout', 'first'],
      ['stderr', 'oops'],
      ['stdout', 'no newline at the end']
    ]);
    expect(lines.every(l => typeof l.timestamp === 'number')).toBe(true);
  });

  it('gives the job only its own environment, never the sidecar’s', async () => {
    process.env.INSIGHTER_TEST_SIDECAR_SECRET = 'do-not-leak';
    try {
      const handle = await runner.start(
        spec(
          'import os; print(os.environ.get("INSIGHTER_TEST_SIDECAR_SECRET", "absent")); print(os.environ["JOB_VALUE"])',
          { env: { JOB_VALUE: 'given' } }
        )
      );
      const { lines, done } = collect(handle);
      expect((await handle.wait()).exitCode).toBe(0);
      await done;
      expect(lines.map(l => l.text)).toEqual(['absent', 'given']);
    } finally {
      delete process.env.INSIGHTER_TEST_SIDECAR_SECRET;
    }
  });

  it('stops the whole process group on cancel: SIGTERM first', async () => {
    const handle = await runner.start(
      spec(
        [
          'import subprocess, time',
          // A grandchild in the same group must end too.
          'child = subprocess.Popen(["/usr/bin/sleep", "60"])',
          'print(child.pid, flush=True)',
          'time.sleep(60)'
        ].join('\n')
      )
    );
    const { lines, done } = collect(handle);
    while (lines.length === 0) {
      await new Promise(resolve => setTimeout(resolve, 20));
    }
    const grandchild = Number(lines[0].text);
    await handle.stop(2000);
    const exit = await handle.wait();
    await done;
    expect(exit).toEqual({
      exitCode: null,
      signal: 'SIGTERM',
      oomKilled: false,
      stopped: true
    });
    await new Promise(resolve => setTimeout(resolve, 100));
    expect(processState(grandchild)).toMatch(/^(gone|Z)$/);
  });

  it('kills a program that ignores SIGTERM once the grace period is over', async () => {
    const handle = await runner.start(
      spec(
        [
          'import signal, time',
          'signal.signal(signal.SIGTERM, signal.SIG_IGN)',
          'print("ready", flush=True)',
          'time.sleep(60)'
        ].join('\n')
      )
    );
    const { lines, done } = collect(handle);
    while (lines.length === 0) {
      await new Promise(resolve => setTimeout(resolve, 20));
    }
    const asked = Date.now();
    await handle.stop(300);
    const exit = await handle.wait();
    await done;
    expect(exit.signal).toBe('SIGKILL');
    expect(exit.stopped).toBe(true);
    expect(Date.now() - asked).toBeGreaterThanOrEqual(250);
  });

  it('reports a program that exceeds its memory limit as out of memory', async () => {
    const handle = await runner.start(
      spec('x = bytearray(400 * 1024 * 1024)\nprint(len(x))', {
        limits: { memoryMb: 200, cpus: 1 }
      })
    );
    const { lines, done } = collect(handle);
    const exit = await handle.wait();
    await done;
    expect(exit.oomKilled).toBe(true);
    expect(exit.exitCode).not.toBe(0);
    expect(
      lines.some(l => l.stream === 'stderr' && /MemoryError/.test(l.text))
    ).toBe(true);
  });

  it('the same program runs within a limit that fits it', async () => {
    const handle = await runner.start(
      spec('x = bytearray(100 * 1024 * 1024)\nprint(len(x))', {
        limits: { memoryMb: 400, cpus: 1 }
      })
    );
    const { lines, done } = collect(handle);
    expect(await handle.wait()).toMatchObject({
      exitCode: 0,
      oomKilled: false
    });
    await done;
    expect(lines.map(l => l.text)).toEqual([String(100 * 1024 * 1024)]);
  });

  it('never re-attaches: a process cannot outlive its sidecar’s pipes', async () => {
    expect(await runner.survivors()).toEqual([]);
    expect(await runner.reattach('any', 0)).toBeUndefined();
  });

  it('ends a lost training process only when the pid is still one', async () => {
    const handle = await runner.start(
      spec('import time; print("up", flush=True); time.sleep(60)', {
        command: [
          PYTHON,
          '-c',
          'import time; print("up", flush=True); time.sleep(60)',
          'insighter-marker'
        ]
      })
    );
    const { lines, done } = collect(handle);
    while (lines.length === 0) {
      await new Promise(resolve => setTimeout(resolve, 20));
    }
    expect(await runner.endLost(handle.ref, 'another-marker')).toBe(false);
    expect(await runner.endLost('pid:999999999', 'insighter-marker')).toBe(
      false
    );
    expect(await runner.endLost(handle.ref, 'insighter-marker')).toBe(true);
    expect((await handle.wait()).signal).toBe('SIGKILL');
    await done;
  });
});
