import fs from 'node:fs';
import path from 'node:path';

/**
 * A unix socket's path as `listen` and `connect` can take it. Linux keeps a
 * socket's path in 108 bytes (with its NUL); a data dir deep enough makes a
 * job's or a model server's socket path longer. Such a socket is reached
 * through an open handle of its folder instead: `/proc/self/fd/<n>/<name>`
 * names the same file. `close()` once the socket is no longer used.
 */
export const MAX_SOCKET_PATH = 107;

export interface ReachableSocket {
  path: string;
  close(): Promise<void>;
}

export async function reachableSocket(
  socketPath: string
): Promise<ReachableSocket> {
  if (Buffer.byteLength(socketPath) <= MAX_SOCKET_PATH) {
    return { path: socketPath, close: async () => undefined };
  }
  const folder = await fs.promises.open(path.dirname(socketPath), 'r');
  return {
    path: `/proc/self/fd/${folder.fd}/${path.basename(socketPath)}`,
    close: () => folder.close()
  };
}
