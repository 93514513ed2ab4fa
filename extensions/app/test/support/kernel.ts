/**
 * A real kernel of a running Insighter Lab, driven over Jupyter's kernel
 * WebSocket as the notebook frontend drives it: started through the REST API
 * (in a folder, which becomes its working directory), code executed, outputs
 * collected.
 *
 *   const kernel = await Kernel.start(lab, 'projects/churn');
 *   const { stdout, error } = await kernel.execute('print(6 * 7)');
 *   await kernel.shutdown();
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { RunningLab } from './lab';

export interface ExecuteResult {
  stdout: string;
  stderr: string;
  /** `text/plain` of the last expression's value, if any. */
  result: string | null;
  /** The exception the code raised, as the kernel reports it. */
  error: { ename: string; evalue: string } | null;
}

interface IMessage {
  header: { msg_id: string; msg_type: string };
  parent_header: { msg_id?: string };
  channel: string;
  content: Record<string, any>;
}

export class Kernel {
  private readonly _session = randomUUID();
  private readonly _listeners = new Set<(message: IMessage) => void>();

  private constructor(
    private readonly _lab: RunningLab,
    readonly id: string,
    private readonly _socket: WebSocket
  ) {
    // A server that goes away resets the socket (tests that stop it on
    // purpose); an execute() still waiting then times out with its code.
    _socket.on('error', () => undefined);
    _socket.on('message', data => {
      const message = JSON.parse(String(data)) as IMessage;
      for (const listener of this._listeners) listener(message);
    });
  }

  /** A python3 kernel whose working directory is `path` (relative to the notebooks' root). */
  static async start(lab: RunningLab, path = ''): Promise<Kernel> {
    const response = await lab.fetch('api/kernels', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'python3', path })
    });
    if (response.status !== 201) {
      throw new Error(
        `starting a kernel answered ${response.status}: ${await response.text()}`
      );
    }
    const { id } = (await response.json()) as { id: string };
    const url = new URL(`api/kernels/${id}/channels`, lab.url);
    url.protocol = 'ws:';
    if (lab.token) url.searchParams.set('token', lab.token);
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new Kernel(lab, id, socket);
  }

  /** Runs `code` and resolves once the kernel is idle again. */
  execute(code: string, timeoutMs = 120_000): Promise<ExecuteResult> {
    const msgId = randomUUID();
    const outcome: ExecuteResult = {
      stdout: '',
      stderr: '',
      result: null,
      error: null
    };
    return new Promise<ExecuteResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this._listeners.delete(listen);
        reject(
          new Error(
            `no answer within ${timeoutMs} ms to: ${code}\n${JSON.stringify(outcome)}`
          )
        );
      }, timeoutMs);
      // Code that never ends (a test stopping the server under it) keeps no test run alive.
      timer.unref();
      const listen = (message: IMessage) => {
        if (message.parent_header?.msg_id !== msgId) return;
        const { content } = message;
        switch (message.header.msg_type) {
          case 'stream':
            outcome[content.name === 'stderr' ? 'stderr' : 'stdout'] +=
              content.text;
            break;
          case 'execute_result':
            outcome.result = content.data?.['text/plain'] ?? null;
            break;
          case 'error':
            outcome.error = { ename: content.ename, evalue: content.evalue };
            break;
          case 'execute_reply':
            // ipykernel aborts requests that arrive while it still winds
            // down after an error (stop_on_error): say so, never an empty result.
            if (content.status === 'aborted') {
              clearTimeout(timer);
              this._listeners.delete(listen);
              reject(
                new Error(`the kernel aborted, without running it: ${code}`)
              );
            }
            break;
          case 'status':
            if (content.execution_state === 'idle') {
              clearTimeout(timer);
              this._listeners.delete(listen);
              resolve(outcome);
            }
            break;
        }
      };
      this._listeners.add(listen);
      this._socket.send(
        JSON.stringify({
          header: {
            msg_id: msgId,
            msg_type: 'execute_request',
            session: this._session,
            username: 'test',
            version: '5.3',
            date: new Date().toISOString()
          },
          parent_header: {},
          metadata: {},
          channel: 'shell',
          buffers: [],
          content: {
            code,
            silent: false,
            store_history: false,
            user_expressions: {},
            allow_stdin: false,
            // One request at a time: nothing queued behind an error to abort.
            // With true, a request sent just after a failed one can be aborted
            // (ipykernel's abort window outlives the idle status under load).
            stop_on_error: false
          }
        })
      );
    });
  }

  /** Runs `code`, failing with the kernel's own words if it raised. */
  async run(code: string): Promise<ExecuteResult> {
    const outcome = await this.execute(code);
    if (outcome.error) {
      throw new Error(
        `${outcome.error.ename}: ${outcome.error.evalue}\n${outcome.stderr}`
      );
    }
    return outcome;
  }

  async shutdown(): Promise<void> {
    this._socket.close();
    await this._lab.fetch(`api/kernels/${this.id}`, { method: 'DELETE' });
  }
}
