import path from 'node:path';
import type { Database } from '../db/types';
import type { Logger } from '../logger';
import type { HealthCheck } from '../services/status';
import { DiskObjectStore } from './disk-store';
import { storageHealthCheck } from './health';
import { StorageService } from './service';
import { UrlSigner } from './signed-urls';

/**
 * The embedded Storage: objects under `<data dir>/storage`, metadata in
 * `storage.objects`, signed URLs with the project's JWT secret. `close()`
 * waits for the start-up orphan sweep so the database is not closed under it.
 */
export interface EmbeddedStorage {
  service: StorageService;
  store: DiskObjectStore;
  health: HealthCheck;
  /** The start-up sweep (already running); resolves when it is done. */
  swept: Promise<void>;
  close(): Promise<void>;
}

export interface EmbeddedStorageOptions {
  dataDir: string;
  db: Database;
  /** The HS256 secret access tokens are signed with (embedded auth's). */
  jwtSecret: Uint8Array;
  maxObjectBytes: number;
  /** The longest lifetime of a signed URL, in seconds (default: 7 days). */
  signedUrlMaxSeconds?: number;
  /** false: objects are not fsynced before they are acknowledged (default true). */
  durable?: boolean;
  logger: Logger;
}

export async function createEmbeddedStorage(
  options: EmbeddedStorageOptions
): Promise<EmbeddedStorage> {
  const store = new DiskObjectStore(path.join(options.dataDir, 'storage'), {
    durable: options.durable
  });
  await store.init();
  // Nothing is uploading before the server listens (the data dir is this
  // process's alone): every temp file is what a killed process left.
  for (const file of await store.staleTempFiles(Date.now() + 1)) {
    await store.discard(file);
  }
  const service = new StorageService({
    db: options.db,
    store,
    signer: new UrlSigner(
      options.jwtSecret,
      options.signedUrlMaxSeconds ?? 7 * 24 * 3600
    ),
    maxObjectBytes: options.maxObjectBytes,
    logger: options.logger
  });
  const swept = service.sweepOrphans().then(
    result => {
      if (result.tempFiles + result.orphans > 0) {
        options.logger.info(
          result,
          'storage: removed leftovers of unfinished uploads'
        );
      }
    },
    err =>
      options.logger.warn(
        { err },
        'storage: the start-up sweep of leftovers failed'
      )
  );
  return {
    service,
    store,
    health: storageHealthCheck(store),
    swept,
    close: () => swept
  };
}
