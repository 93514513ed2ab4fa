import fs from 'node:fs';
import http, { type IncomingMessage, type RequestListener } from 'node:http';
import path from 'node:path';
import { SANDBOX_GID, SANDBOX_UID } from './sandbox';
import { reachableSocket, type ReachableSocket } from './unix-socket';

/**
 * A job's own way to the sidecar. A sandboxed job has no network, so the
 * sidecar listens for it on a unix socket in a folder that only that job's
 * sandbox (or container) has mounted: `<job dir>/run/sidecar.sock`, opened
 * when the job starts and closed when it ended.
 *
 * - The job's MLflow client and dataset download use it as
 *   `http+unix://<socket path, percent-encoded>` (insighter_train/transport.py);
 *   the same client takes an `http(s)://` tracking URI of a real MLflow server.
 * - It serves the sidecar's own routes, authenticated as on TCP (the job's
 *   token), but only those a job needs: MLflow's REST API, its proxied
 *   artifacts, and the job's own dataset's content. Anything else is 404.
 * - A request that came through a job's socket carries the job
 *   (`jobChannelOf(req)`): a model version it registers is known to be that
 *   job's work (tracking/model-provenance.ts). Only the sidecar can set it.
 * - Per job rather than one socket shared by all: a job sees no socket but
 *   its own, and whatever reaches this listener is that job's.
 */
export interface JobChannelInfo {
  jobId: string;
  /** The MLflow run the job logs to. */
  runId: string;
  datasetId: string;
}

const CHANNEL = Symbol('insighter.jobChannel');

type ChannelRequest = IncomingMessage & { [CHANNEL]?: JobChannelInfo };

/** The job a request came from, when it came through a job's socket. */
export function jobChannelOf(req: IncomingMessage): JobChannelInfo | undefined {
  return (req as ChannelRequest)[CHANNEL];
}

/** The socket's URL for the job's clients (`http+unix://…`, as requests-unixsocket spells it). */
export function channelUrl(socketPath: string): string {
  return `http+unix://${encodeURIComponent(socketPath)}`;
}

export const CHANNEL_SOCKET = 'sidecar.sock';

export class JobChannels {
  private handler?: RequestListener;
  private readonly channels = new Map<
    string,
    { server: http.Server; dir: string; socket: ReachableSocket }
  >();

  /** The sidecar's request handler (its Express app), once made. */
  serve(handler: RequestListener): void {
    this.handler = handler;
  }

  /**
   * Listens for the job in `dir`; answers the socket's path. Opening again
   * (a container followed again after a restart) listens in the same folder
   * — the very one mounted in the container — replacing the socket a
   * sidecar before left there.
   */
  async open(info: JobChannelInfo, dir: string): Promise<string> {
    await this.close(info.jobId, { keepDir: true });
    await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
    if (process.getuid?.() === 0) {
      await fs.promises.chown(dir, SANDBOX_UID, SANDBOX_GID);
    }
    const socketPath = path.join(dir, CHANNEL_SOCKET);
    await fs.promises.rm(socketPath, { force: true });
    const socket = await reachableSocket(socketPath);
    const server = http.createServer((req, res) => this.route(info, req, res));
    server.keepAliveTimeout = 60_000;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(socket.path, () => {
          server.off('error', reject);
          resolve();
        });
      });
      if (process.getuid?.() === 0) {
        // Connecting takes write permission on the socket: the sandbox's user gets it.
        await fs.promises.chown(socketPath, SANDBOX_UID, SANDBOX_GID);
      }
    } catch (err) {
      server.close();
      await socket.close();
      throw err;
    }
    this.channels.set(info.jobId, { server, dir, socket });
    return socketPath;
  }

  /** Stops listening; the folder goes too unless `keepDir` (a job that goes on without this sidecar). */
  async close(
    jobId: string,
    options: { keepDir?: boolean } = {}
  ): Promise<void> {
    const channel = this.channels.get(jobId);
    if (!channel) {
      return;
    }
    this.channels.delete(jobId);
    await new Promise<void>(resolve => {
      channel.server.close(() => resolve());
      channel.server.closeAllConnections();
    });
    await channel.socket.close();
    if (!options.keepDir) {
      await fs.promises.rm(channel.dir, { recursive: true, force: true });
    }
  }

  /** The sidecar stops: no job reaches it any more; containers find their folder again after a restart. */
  async closeAll(): Promise<void> {
    await Promise.all(
      [...this.channels.keys()].map(id => this.close(id, { keepDir: true }))
    );
  }

  private route(
    info: JobChannelInfo,
    req: IncomingMessage,
    res: http.ServerResponse
  ): void {
    const pathname = (req.url ?? '/').split('?', 1)[0];
    const allowed =
      pathname.startsWith('/api/2.0/mlflow/') ||
      pathname.startsWith('/api/2.0/mlflow-artifacts/') ||
      (req.method === 'GET' &&
        pathname === `/api/v1/datasets/${info.datasetId}/content`);
    if (!allowed || !this.handler) {
      req.resume();
      const body = JSON.stringify({
        error_code: 'ENDPOINT_NOT_FOUND',
        message:
          "A job's socket leads to MLflow's REST API and the job's own dataset only."
      });
      res.writeHead(404, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body)
      });
      res.end(body);
      return;
    }
    (req as ChannelRequest)[CHANNEL] = info;
    this.handler(req, res);
  }
}
