import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { HttpError } from '../http/errors';
import { nodeStreamFetch } from './node-stream-fetch';

/**
 * Dataset files in Storage's `uploads` bucket, through the official
 * supabase-js storage client: as the signed-in user for everything a person
 * asks for (Storage's row-level security decides), with the service key
 * only for the start-up sweep. In embedded mode the client talks to the
 * sidecar's own `/storage/v1`; with a hosted project, to its Storage.
 */
export const DATASETS_BUCKET = 'uploads';

/**
 * Read as the service: for a training job, whose token no Storage accepts.
 * The route checked first that the job may read that very dataset version.
 */
export const AS_SERVICE = Symbol('read as the service');

export interface DatasetFilesOptions {
  /** The Supabase URL (read when used: the embedded one is known after listen). */
  url: () => string;
  anonKey: string;
  serviceRoleKey: string;
  /**
   * Embedded mode only: where the sidecar's own Storage keeps an object's
   * bytes on this disk. Absent with a hosted project.
   */
  localFile?: (path: string) => string;
}

/** Storage's answer to a failed call, as a status and its message. */
export class StorageCallError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
  }
}

export class DatasetFiles {
  constructor(private readonly options: DatasetFilesOptions) {}

  /**
   * The stored object's file when Storage is the sidecar's own (so the
   * profiler reads it in place instead of a second copy of the upload);
   * undefined with a hosted project.
   */
  localFile(path: string): string | undefined {
    return this.options.localFile?.(path);
  }

  /**
   * Streams `body` into the object (replacing a leftover at the same path).
   * Destroying `body` aborts the upload, and Storage keeps nothing of it.
   */
  async upload(
    token: string,
    path: string,
    body: Readable,
    contentType: string
  ): Promise<void> {
    const { error } = await this.bucket(token).upload(path, body, {
      contentType,
      upsert: true,
      cacheControl: '0'
    });
    if (error) {
      throw storageCallError(error);
    }
  }

  /**
   * The object's bytes (`start`..`end` inclusive when given) as a stream.
   * `signal` aborts the download (a client that went away).
   */
  async download(
    token: string | typeof AS_SERVICE,
    path: string,
    options: {
      range?: { start: number; end: number };
      signal?: AbortSignal;
    } = {}
  ): Promise<Readable> {
    const headers: Record<string, string> = {};
    if (options.range) {
      headers.range = `bytes=${options.range.start}-${options.range.end}`;
    }
    // storage-js passes these to fetch as they are (its type names only
    // `signal` and `cache`); the range goes to Storage unchanged.
    const parameters = { headers, signal: options.signal };
    const { data, error } = await this.bucket(
      token === AS_SERVICE ? this.options.serviceRoleKey : token
    )
      .download(path, {}, parameters as { signal?: AbortSignal })
      .asStream();
    if (error || !data) {
      throw storageCallError(error);
    }
    return Readable.fromWeb(data as WebReadableStream<Uint8Array>);
  }

  /** Removes objects the user may delete; answers the paths removed. */
  async remove(token: string, paths: string[]): Promise<string[]> {
    return this.removeAs(this.bucket(token), paths);
  }

  /** Removes objects whoever owns them (the service key; start-up sweep only). */
  async removeAsService(paths: string[]): Promise<string[]> {
    return this.removeAs(
      this.client(this.options.serviceRoleKey).storage.from(DATASETS_BUCKET),
      paths
    );
  }

  private async removeAs(
    bucket: ReturnType<SupabaseClient['storage']['from']>,
    paths: string[]
  ): Promise<string[]> {
    if (paths.length === 0) {
      return [];
    }
    const { data, error } = await bucket.remove(paths);
    if (error) {
      throw storageCallError(error);
    }
    return (data ?? []).map(object => object.name);
  }

  private bucket(token: string) {
    return this.client(token).storage.from(DATASETS_BUCKET);
  }

  /** One client per call: server-side, no session of its own, no realtime. */
  private client(token: string): SupabaseClient {
    return createClient(this.options.url(), this.options.anonKey, {
      accessToken: async () => token,
      global: { fetch: nodeStreamFetch }
    });
  }
}

function storageCallError(error: unknown): StorageCallError {
  const status = Number(
    (error as { status?: unknown; statusCode?: unknown } | null)?.status ??
      (error as { statusCode?: unknown } | null)?.statusCode
  );
  const message =
    (error as { message?: unknown } | null)?.message ?? 'Storage failed';
  return new StorageCallError(
    Number.isInteger(status) && status >= 400 ? status : 502,
    String(message)
  );
}

/** A Storage failure as the API answers it, without Storage's internals. */
export function storageFailure(err: StorageCallError, what: string): HttpError {
  if (err.status === 413) {
    return new HttpError(
      413,
      'The file is larger than Storage accepts.',
      'too_large'
    );
  }
  if (err.status === 404) {
    return new HttpError(
      404,
      `The stored file of this dataset is missing (${what}).`,
      'not_found'
    );
  }
  if (err.status === 403 || err.status === 401) {
    return new HttpError(
      403,
      `Storage refused to ${what}: ${err.message}`,
      'forbidden'
    );
  }
  return new HttpError(
    502,
    `Storage could not ${what}: ${err.message}`,
    'storage_unavailable'
  );
}
