import type { Readable } from 'node:stream';
import { errorMessage, sqlState, SqlState } from '../db/errors';
import type { Database, JwtClaims, Queryable } from '../db/types';
import type { Logger } from '../logger';
import type { DiskObjectStore, StoredFile } from './disk-store';
import { StorageError, storageErrors } from './errors';
import {
  checkBucketName,
  normalizeObjectKey,
  normalizePrefix
} from './object-path';
import {
  deleteObjects,
  existingNames,
  findBucket,
  findObject,
  insertObject,
  listFolder,
  type BucketRow,
  type ListEntry,
  type ListSortColumn,
  type ObjectMetadata,
  type ObjectRow
} from './objects-store';
import type { UrlSigner } from './signed-urls';

/** Who asks: a verified JWT's claims (user, anon key or service key); null = anon. */
export type StorageCaller = JwtClaims | null;

/** An upload's bytes and the attributes that came with them. */
export interface UploadBody {
  stream: Readable;
  contentType: string;
  cacheControl: string;
  userMetadata: Record<string, unknown> | null;
}

export interface UploadRequest {
  bucket: string;
  key: string;
  upsert: boolean;
  /** The body's declared length, when known: too large is refused before reading. */
  declaredBytes?: number;
  /** Called once the caller may upload here, so a refusal reads no bytes. */
  openBody(): Promise<UploadBody>;
}

/** An object ready to be sent: its row, its file's size and a way to read it. */
export interface StoredObject {
  row: ObjectRow;
  size: number;
  eTag: string;
  contentType: string;
  cacheControl: string;
  lastModified: Date;
  read(range?: { start: number; end: number }): Readable;
}

export interface ListOptions {
  prefix: string;
  search: string;
  limit: number;
  offset: number;
  sortBy: ListSortColumn;
  order: 'asc' | 'desc';
}

export interface StorageServiceOptions {
  db: Database;
  store: DiskObjectStore;
  signer: UrlSigner;
  /** `INSIGHTER_STORAGE_MAX_BYTES`; a bucket's own `file_size_limit` may lower it. */
  maxObjectBytes: number;
  logger: Logger;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A file younger than this may belong to an upload that is committing right now. */
export const ORPHAN_MIN_AGE_MS = 5 * 60 * 1000;
const SWEEP_BATCH = 200;

/** Thrown inside a transaction to roll it back on purpose. */
class RollBack extends Error {}

/**
 * Supabase Storage's object operations on the embedded store. Every read,
 * write and delete of object metadata runs under `withClaims(caller)`, so
 * Postgres row-level security on `storage.objects` decides exactly as it does
 * on Supabase. Bytes stream to and from disk outside any transaction (PGlite
 * has one connection): stream first, then a short transaction.
 */
export class StorageService {
  private readonly db: Database;
  private readonly store: DiskObjectStore;

  constructor(private readonly options: StorageServiceOptions) {
    this.db = options.db;
    this.store = options.store;
  }

  async upload(
    caller: StorageCaller,
    request: UploadRequest
  ): Promise<{ Id: string; Key: string }> {
    const bucketId = checkBucketName(request.bucket);
    const key = normalizeObjectKey(request.key);
    const bucket = await this.bucket(bucketId);
    const limit = this.sizeLimit(bucket);
    if (request.declaredBytes !== undefined && request.declaredBytes > limit) {
      throw storageErrors.entityTooLarge();
    }
    const owner = ownerOf(caller);
    // Like Supabase's `canUpload`: try the row under RLS and roll it back, so
    // someone who may not write here is refused before a byte is received.
    await this.db
      .withClaims(caller, async tx => {
        await insertObject(tx, {
          bucket: bucketId,
          name: key,
          owner,
          metadata: {},
          userMetadata: null,
          upsert: request.upsert
        });
        throw new RollBack();
      })
      .catch(err => {
        if (!(err instanceof RollBack)) {
          throw fromDatabase(err);
        }
      });

    const body = await request.openBody();
    if (!mimeTypeAllowed(bucket, body.contentType)) {
      body.stream.resume();
      throw storageErrors.invalidMimeType(body.contentType);
    }
    const received = await this.store.receive(body.stream, limit);
    const metadata: ObjectMetadata = {
      eTag: `"${received.sha256}"`,
      size: received.size,
      mimetype: body.contentType,
      cacheControl: body.cacheControl,
      lastModified: new Date().toISOString(),
      contentLength: received.size,
      httpStatusCode: 200
    };
    try {
      // The rename happens inside the transaction: a failed rename rolls the
      // row back, and the row lock orders concurrent upserts of one key.
      const row = await this.db.withClaims(caller, async tx => {
        const inserted = await insertObject(tx, {
          bucket: bucketId,
          name: key,
          owner,
          metadata,
          userMetadata: body.userMetadata,
          upsert: request.upsert
        });
        await this.store.place(received.tempPath, bucketId, key);
        return inserted;
      });
      return { Id: row.id, Key: `${bucketId}/${key}` };
    } catch (err) {
      await this.store.discard(received.tempPath);
      throw fromDatabase(err);
    }
  }

  /** An object the caller may read (RLS), ready to stream. */
  async open(
    caller: StorageCaller,
    bucket: string,
    key: string
  ): Promise<StoredObject> {
    const bucketId = checkBucketName(bucket);
    const name = normalizeObjectKey(key);
    const row = await this.db
      .withClaims(caller, tx => findObject(tx, bucketId, name))
      .catch(err => {
        throw fromDatabase(err);
      });
    return this.stored(row);
  }

  /**
   * An object behind a signed URL: the token is the permission, as long as
   * whoever signed it may still read the object (checked again here, under
   * their rights: one query).
   */
  async openSigned(
    bucket: string,
    key: string,
    token: string
  ): Promise<StoredObject> {
    const bucketId = checkBucketName(bucket);
    const name = normalizeObjectKey(key);
    const signer = await this.options.signer.verify(token, bucketId, name);
    const find = (tx: Queryable) => findObject(tx, bucketId, name);
    // URLs signed before signers were recorded live out their (bounded) lifetime.
    const row =
      signer === undefined || signer.role === 'service_role'
        ? await this.db.asService(find)
        : await this.db
            .withClaims(
              signer.role === 'authenticated'
                ? { sub: signer.sub, role: 'authenticated' }
                : null,
              find
            )
            .catch(err => {
              throw fromDatabase(err);
            });
    return this.stored(row);
  }

  /** An object of a public bucket, for anyone. */
  async openPublic(bucket: string, key: string): Promise<StoredObject> {
    const bucketId = checkBucketName(bucket);
    const name = normalizeObjectKey(key);
    const row = await this.db.asService(async tx => {
      const found = await findBucket(tx, bucketId);
      if (!found?.public) {
        throw storageErrors.noSuchBucket();
      }
      return findObject(tx, bucketId, name);
    });
    return this.stored(row);
  }

  async list(
    caller: StorageCaller,
    bucket: string,
    options: ListOptions
  ): Promise<ListEntry[]> {
    const bucketId = checkBucketName(bucket);
    const prefix = normalizePrefix(options.prefix);
    await this.bucket(bucketId);
    return this.db
      .withClaims(caller, tx =>
        listFolder(tx, { ...options, bucket: bucketId, prefix })
      )
      .catch(err => {
        throw fromDatabase(err);
      });
  }

  /**
   * Deletes the objects the caller may delete (others are silently left, as
   * Supabase does) and answers the deleted rows; their files go after commit.
   */
  async remove(
    caller: StorageCaller,
    bucket: string,
    keys: string[]
  ): Promise<ObjectRow[]> {
    const bucketId = checkBucketName(bucket);
    const names = keys.map(normalizeObjectKey);
    await this.bucket(bucketId);
    const deleted = await this.db
      .withClaims(caller, tx => deleteObjects(tx, bucketId, names))
      .catch(err => {
        throw fromDatabase(err);
      });
    for (const row of deleted) {
      await this.store.remove(bucketId, row.name).catch(err =>
        // The row is gone: the orphan sweep removes the file at the next start.
        this.options.logger.warn(
          { bucket: bucketId, err: errorMessage(err) },
          'could not remove a deleted object’s file'
        )
      );
    }
    return deleted;
  }

  /** Refuses (400) a signed URL lifetime over `INSIGHTER_STORAGE_SIGNED_URL_MAX_S`. */
  checkSignedUrlLifetime(expiresInSeconds: number): void {
    this.options.signer.checkLifetime(expiresInSeconds);
  }

  /** A signed URL path (`/object/sign/…?token=…`) for an object the caller may read. */
  async signUrl(
    caller: StorageCaller,
    bucket: string,
    key: string,
    expiresInSeconds: number
  ): Promise<string> {
    const object = await this.open(caller, bucket, key);
    const token = await this.options.signer.sign(
      object.row.bucket_id,
      object.row.name,
      expiresInSeconds,
      caller && { sub: caller.sub, role: caller.role }
    );
    // Unencoded, as storage-js passes the whole URL through encodeURI.
    return `/object/sign/${object.row.bucket_id}/${object.row.name}?token=${token}`;
  }

  /**
   * Start-up clean-up after a crash or kill: temp files of unfinished uploads
   * and files without a metadata row, both older than `minAgeMs`.
   */
  async sweepOrphans(
    minAgeMs = ORPHAN_MIN_AGE_MS
  ): Promise<{ tempFiles: number; orphans: number }> {
    const cutoff = Date.now() - minAgeMs;
    const stale = await this.store.staleTempFiles(cutoff);
    for (const file of stale) {
      await this.store.discard(file);
    }
    let orphans = 0;
    let batch: StoredFile[] = [];
    const flush = async () => {
      const byBucket = new Map<string, StoredFile[]>();
      for (const file of batch) {
        byBucket.set(file.bucket, [...(byBucket.get(file.bucket) ?? []), file]);
      }
      batch = [];
      for (const [bucket, files] of byBucket) {
        const known = await this.db.asService(tx =>
          existingNames(
            tx,
            bucket,
            files.map(f => f.key)
          )
        );
        for (const file of files.filter(f => !known.has(f.key))) {
          await this.store.removeFile(file);
          orphans += 1;
        }
      }
    };
    for await (const file of this.store.files()) {
      if (file.mtimeMs < cutoff) {
        batch.push(file);
        if (batch.length >= SWEEP_BATCH) {
          await flush();
        }
      }
    }
    await flush();
    return { tempFiles: stale.length, orphans };
  }

  private async bucket(id: string): Promise<BucketRow> {
    const bucket = await this.db.asService(tx => findBucket(tx, id));
    if (!bucket) {
      throw storageErrors.noSuchBucket();
    }
    return bucket;
  }

  private sizeLimit(bucket: BucketRow): number {
    const own =
      bucket.file_size_limit === null ? NaN : Number(bucket.file_size_limit);
    return Number.isFinite(own) && own > 0
      ? Math.min(own, this.options.maxObjectBytes)
      : this.options.maxObjectBytes;
  }

  private async stored(row: ObjectRow | undefined): Promise<StoredObject> {
    if (!row) {
      throw storageErrors.noSuchKey();
    }
    const size = await this.store.size(row.bucket_id, row.name);
    if (size === undefined) {
      throw storageErrors.noSuchKey();
    }
    const metadata = row.metadata ?? ({} as Partial<ObjectMetadata>);
    return {
      row,
      size,
      eTag: metadata.eTag ?? `"${row.id}"`,
      contentType: metadata.mimetype ?? 'application/octet-stream',
      cacheControl: metadata.cacheControl ?? 'no-cache',
      lastModified: new Date(row.updated_at),
      read: range => this.store.read(row.bucket_id, row.name, range)
    };
  }
}

function ownerOf(caller: StorageCaller): string | null {
  return caller?.role === 'authenticated' && UUID.test(caller.sub)
    ? caller.sub
    : null;
}

function mimeTypeAllowed(bucket: BucketRow, contentType: string): boolean {
  const allowed = bucket.allowed_mime_types ?? [];
  if (allowed.length === 0) {
    return true;
  }
  const type = contentType.split(';')[0].trim().toLowerCase();
  return allowed.some(pattern => {
    const p = pattern.toLowerCase();
    return p.endsWith('/*') ? type.startsWith(p.slice(0, -1)) : type === p;
  });
}

/** Postgres refusals as Storage answers them. */
function fromDatabase(err: unknown): unknown {
  if (err instanceof StorageError) {
    return err;
  }
  switch (sqlState(err)) {
    case SqlState.insufficientPrivilege:
      return storageErrors.accessDenied();
    case SqlState.uniqueViolation:
      return storageErrors.alreadyExists();
    case SqlState.foreignKeyViolation:
      return storageErrors.noSuchBucket();
    default:
      return err;
  }
}
