import type { ISystemStatus, OverallState } from '@insighter/core';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export function statusBody(status: OverallState): ISystemStatus {
  return {
    status,
    components: {
      database: {
        state: status === 'DOWN' ? 'down' : 'ok',
        detail:
          status === 'DOWN'
            ? 'Cannot open the data directory.'
            : 'PGlite answers.',
        backend: 'pglite',
        latency_ms: 3
      },
      storage: {
        state: status === 'DEGRADED' ? 'degraded' : 'ok',
        detail: status === 'DEGRADED' ? 'Disk almost full.' : 'Local disk.',
        backend: 'disk'
      },
      jobs: { state: 'not_configured', detail: 'Arrives with training.' },
      tracking: { state: 'not_configured', detail: 'Arrives with experiments.' }
    },
    version: '0.1.0',
    uptime_s: 42,
    checked_at: new Date().toISOString()
  };
}

/**
 * A real HTTP server standing in for the Jupyter proxy in front of the
 * sidecar. `answer` decides what `/insighter/api/v1/status` says; `stop`
 * and `start` take the port down and bring it back like a sidecar restart.
 */
export class SidecarDouble {
  answer: () => { code: number; body: unknown } = () => ({
    code: 200,
    body: statusBody('OPTIMAL')
  });
  statusRequests = 0;
  port = 0;
  private _server: http.Server | null = null;

  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/insighter/`;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path !== '/insighter/api/v1/status') {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({ error: { code: 'not_found', message: path } })
        );
        return;
      }
      this.statusRequests++;
      const { code, body } = this.answer();
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    // Keep-alive sockets would outlive `stop()`; a restarted sidecar has none.
    server.keepAliveTimeout = 1;
    await new Promise<void>(resolve =>
      server.listen(this.port, '127.0.0.1', resolve)
    );
    this.port = (server.address() as AddressInfo).port;
    this._server = server;
  }

  async stop(): Promise<void> {
    const server = this._server;
    this._server = null;
    if (server) {
      server.closeAllConnections();
      await new Promise(resolve => server.close(resolve));
    }
  }
}
