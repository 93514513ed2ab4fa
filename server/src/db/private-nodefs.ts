import fs from 'node:fs';
import type { PGlite } from '@electric-sql/pglite';
import { NodeFS } from '@electric-sql/pglite/nodefs';
import { SHARED_BITS } from '../private-data-dir';

type EmscriptenOptions = Awaited<ReturnType<NodeFS['init']>>['emscriptenOpts'];
type PostgresModule = Parameters<
  NonNullable<EmscriptenOptions['preRun']>[number]
>[0];

/** The bits of Emscripten's NODEFS this needs: how it creates files and sets modes. */
interface NodeFsOps {
  node_ops: {
    mknod: (
      parent: unknown,
      name: string,
      mode: number,
      dev: number
    ) => unknown;
    setattr: (node: unknown, attr: { mode?: number }) => void;
  };
  stream_ops: {
    setattr: (stream: unknown, attr: { mode?: number }) => void;
  };
}

/**
 * PGlite's data dir on the host, readable and writable by this OS user only.
 *
 * Emscripten's FS ignores the process umask: it creates every file with the
 * mode the program asked for by a chmod after the open. PGlite copies the
 * database initdb made into the data dir with `FS.writeFile`, whose mode is
 * 0666, so a new database came out world-readable and world-writable (WAL
 * included); files Postgres creates later get 0600 or 0644. Every mode NODEFS
 * hands to the host (create, chmod, fchmod) loses its group and other bits
 * here, so files are 0600 and folders 0700 from the start and stay so.
 */
export class PrivateNodeFS extends NodeFS {
  constructor(dataDir: string) {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dataDir, 0o700);
    super(dataDir);
  }

  async init(
    pg: PGlite,
    opts: Partial<PostgresModule>
  ): Promise<{ emscriptenOpts: EmscriptenOptions }> {
    const { emscriptenOpts } = await super.init(pg, opts);
    return {
      emscriptenOpts: {
        ...emscriptenOpts,
        // First: before NODEFS is mounted and the database copied in.
        preRun: [keepPrivate, ...(emscriptenOpts.preRun ?? [])]
      }
    };
  }
}

function keepPrivate(mod: PostgresModule): void {
  const nodefs = (
    mod.FS as unknown as { filesystems?: { NODEFS?: Partial<NodeFsOps> } }
  ).filesystems?.NODEFS;
  const nodeOps = nodefs?.node_ops;
  const streamOps = nodefs?.stream_ops;
  if (
    typeof nodeOps?.mknod !== 'function' ||
    typeof nodeOps.setattr !== 'function' ||
    typeof streamOps?.setattr !== 'function'
  ) {
    // Fail closed: a PGlite whose file system changed shape must be looked at again.
    throw new Error(
      "This PGlite's Emscripten NODEFS is not the one Insighter knows: its data dir cannot be kept private."
    );
  }
  const mknod = nodeOps.mknod;
  const setNodeAttr = nodeOps.setattr;
  const setStreamAttr = streamOps.setattr;
  nodeOps.mknod = (parent, name, mode, dev) =>
    mknod(parent, name, mode & ~SHARED_BITS, dev);
  nodeOps.setattr = (node, attr) => setNodeAttr(node, privateMode(attr));
  streamOps.setattr = (stream, attr) =>
    setStreamAttr(stream, privateMode(attr));
}

function privateMode<T extends { mode?: number }>(attr: T): T {
  return attr.mode === undefined
    ? attr
    : { ...attr, mode: attr.mode & ~SHARED_BITS };
}
