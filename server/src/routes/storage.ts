import { pipeline } from 'node:stream/promises';
import {
  Router,
  type ErrorRequestHandler,
  type Request,
  type RequestHandler,
  type Response
} from 'express';
import { z, ZodError } from 'zod';
import { InvalidTokenError, type TokenVerifier } from '../auth/token-verifier';
import { drainUnreadBody } from '../http/drain-body';
import { knownProblem } from '../http/errors';
import { bearerToken } from '../http/require-user';
import { setUserContentHeaders } from '../http/user-content';
import type { Logger } from '../logger';
import { StorageError, storageErrors } from '../storage/errors';
import type {
  StorageCaller,
  StorageService,
  StoredObject
} from '../storage/service';
import { readUploadBody } from '../storage/upload-body';
import { jsonBody } from '../http/json-body';

/**
 * `/storage/v1`: the subset of Supabase's Storage API that supabase-js uses,
 * over the embedded store. Mount it before the app's JSON parser (uploads
 * are streamed raw). Every request names its caller with
 * `Authorization: Bearer <user access token | anon key | service key>`;
 * signed URLs and public buckets need none. Errors are Storage's
 * `{statusCode, code, error, message}`.
 */
export interface StorageRouteDeps {
  service: StorageService;
  verifier: TokenVerifier;
  logger: Logger;
}

const parseJson = jsonBody({ limit: '1mb' });

const SORT_COLUMNS = [
  'name',
  'created_at',
  'updated_at',
  'last_accessed_at'
] as const;

const listBody = z.object({
  prefix: z.string().default(''),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
  search: z.string().max(1024).default(''),
  sortBy: z
    .object({
      column: z.enum(SORT_COLUMNS).default('name'),
      order: z
        .preprocess(
          v => (typeof v === 'string' ? v.toLowerCase() : v),
          z.enum(['asc', 'desc'])
        )
        .default('asc')
    })
    .default({ column: 'name', order: 'asc' })
});

const removeBody = z.object({
  prefixes: z.array(z.string()).min(1).max(1000)
});

const expiresIn = z.coerce.number().int().min(1);
const signBody = z.object({ expiresIn });
const signManyBody = z.object({
  expiresIn,
  paths: z.array(z.string()).min(1).max(1000)
});

export function storageRoutes(deps: StorageRouteDeps): Router {
  const { service } = deps;
  const router = Router();
  router.use(corsHeaders);

  const caller = (req: Request) => callerOf(req, deps.verifier);

  // Literal segments first: `*path` would swallow them otherwise.
  router.post('/object/list/:bucket', parseJson, async (req, res) => {
    const body = listBody.parse(req.body ?? {});
    const entries = await service.list(await caller(req), req.params.bucket, {
      prefix: body.prefix,
      search: body.search,
      limit: body.limit,
      offset: body.offset,
      sortBy: body.sortBy.column,
      order: body.sortBy.order
    });
    res.json(entries);
  });

  router.post('/object/sign/:bucket', parseJson, async (req, res) => {
    const body = signManyBody.parse(req.body ?? {});
    service.checkSignedUrlLifetime(body.expiresIn);
    const who = await caller(req);
    const answers = [];
    for (const path of body.paths) {
      try {
        const signedURL = await service.signUrl(
          who,
          req.params.bucket,
          path,
          body.expiresIn
        );
        answers.push({ error: null, path, signedURL });
      } catch (err) {
        if (!(err instanceof StorageError)) {
          throw err;
        }
        answers.push({
          error:
            'Either the object does not exist or you do not have access to it',
          path,
          signedURL: null
        });
      }
    }
    res.json(answers);
  });

  router.post('/object/sign/:bucket/*path', parseJson, async (req, res) => {
    const body = signBody.parse(req.body ?? {});
    const signedURL = await service.signUrl(
      await caller(req),
      req.params.bucket,
      objectKey(req),
      body.expiresIn
    );
    res.json({ signedURL });
  });

  router.get('/object/sign/:bucket/*path', async (req, res) => {
    const token = typeof req.query.token === 'string' ? req.query.token : '';
    if (!token) {
      throw storageErrors.invalidRequest(
        "querystring must have required property 'token'"
      );
    }
    sendObject(
      req,
      res,
      await service.openSigned(req.params.bucket, objectKey(req), token)
    );
  });

  router.get('/object/public/:bucket/*path', async (req, res) => {
    sendObject(
      req,
      res,
      await service.openPublic(req.params.bucket, objectKey(req))
    );
  });

  for (const prefix of ['/object/info/authenticated', '/object/info']) {
    router.get(`${prefix}/:bucket/*path`, async (req, res) => {
      const object = await service.open(
        await caller(req),
        req.params.bucket,
        objectKey(req)
      );
      res.json(objectInfo(object));
    });
  }
  router.get('/object/info/public/:bucket/*path', async (req, res) => {
    res.json(
      objectInfo(await service.openPublic(req.params.bucket, objectKey(req)))
    );
  });

  for (const prefix of ['/object/authenticated', '/object']) {
    router.get(`${prefix}/:bucket/*path`, async (req, res) => {
      sendObject(
        req,
        res,
        await service.open(await caller(req), req.params.bucket, objectKey(req))
      );
    });
  }

  const upload =
    (upsertAlways: boolean): RequestHandler =>
    async (req, res) => {
      const who = await caller(req);
      const declared = req.headers['content-length'];
      const isForm = /^multipart\/form-data/i.test(
        req.headers['content-type'] ?? ''
      );
      const result = await service.upload(who, {
        bucket: String(req.params.bucket),
        key: objectKey(req),
        upsert: upsertAlways || req.get('x-upsert') === 'true',
        // A form's length includes its boundaries: only a raw body's is the object's.
        declaredBytes: !isForm && declared ? Number(declared) : undefined,
        openBody: () => readUploadBody(req.headers, req)
      });
      res.json(result);
    };
  router.post('/object/:bucket/*path', upload(false));
  // Supabase's update: replaces the object (and creates it if missing).
  router.put('/object/:bucket/*path', upload(true));

  router.delete('/object/:bucket', parseJson, async (req, res) => {
    const body = removeBody.parse(req.body ?? {});
    res.json(
      await service.remove(await caller(req), req.params.bucket, body.prefixes)
    );
  });

  router.delete('/object/:bucket/*path', async (req, res) => {
    const key = objectKey(req);
    const who = await caller(req);
    await service.open(who, req.params.bucket, key);
    const deleted = await service.remove(who, req.params.bucket, [key]);
    if (deleted.length === 0) {
      throw storageErrors.noSuchKey();
    }
    res.json({ message: 'Successfully deleted' });
  });

  router.use(() => {
    throw new StorageError(404, 'NotFound', 'Route not found', 'Not Found');
  });
  router.use(storageErrorHandler(deps.logger));
  return router;
}

/** The verified claims of the bearer token (or `apikey` when there is no Authorization). */
async function callerOf(
  req: Request,
  verifier: TokenVerifier
): Promise<StorageCaller> {
  const token = bearerToken(req) ?? req.get('apikey');
  if (!token) {
    throw storageErrors.invalidJwt(
      'No authorization header: send "Authorization: Bearer <access token or API key>".'
    );
  }
  try {
    return await verifier.verify(token);
  } catch (err) {
    if (err instanceof InvalidTokenError) {
      throw storageErrors.invalidJwt(err.message);
    }
    throw err;
  }
}

/** Express 5 hands a `*path` wildcard over as its decoded segments. */
function objectKey(req: Request): string {
  const path = (req.params as unknown as { path?: string[] | string }).path;
  return Array.isArray(path) ? path.join('/') : (path ?? '');
}

function objectInfo(object: StoredObject) {
  const { row } = object;
  return {
    id: row.id,
    name: row.name,
    bucket_id: row.bucket_id,
    version: row.version,
    size: object.size,
    content_type: object.contentType,
    cache_control: object.cacheControl,
    etag: object.eTag,
    metadata: row.user_metadata ?? {},
    last_modified: row.updated_at,
    created_at: row.created_at
  };
}

/** Streams an object with its headers; one byte range (206) or 416 when asked. */
export function sendObject(
  req: Request,
  res: Response,
  object: StoredObject
): void {
  res.setHeader('Content-Type', object.contentType);
  res.setHeader('Cache-Control', object.cacheControl);
  res.setHeader('ETag', object.eTag);
  res.setHeader('Last-Modified', object.lastModified.toUTCString());
  res.setHeader('Accept-Ranges', 'bytes');
  const download = req.query.download;
  setUserContentHeaders(res, {
    contentType: object.contentType,
    fileName:
      (typeof download === 'string' && download) ||
      object.row.name.split('/').pop() ||
      'download',
    download: typeof download === 'string'
  });
  if (req.fresh) {
    res.status(304).end();
    return;
  }
  let range: { start: number; end: number } | undefined;
  const ifRange = req.get('if-range');
  if (req.headers.range && (!ifRange || ifRange === object.eTag)) {
    const ranges = req.range(object.size, { combine: true });
    if (ranges === -1) {
      res.setHeader('Content-Range', `bytes */${object.size}`);
      throw storageErrors.invalidRange();
    }
    // Malformed, not bytes, or several ranges: the whole object (RFC 9110 allows it).
    if (
      ranges !== -2 &&
      ranges !== undefined &&
      ranges.type === 'bytes' &&
      ranges.length === 1
    ) {
      range = { start: ranges[0].start, end: ranges[0].end };
    }
  }
  if (range) {
    res.status(206);
    res.setHeader(
      'Content-Range',
      `bytes ${range.start}-${range.end}/${object.size}`
    );
    res.setHeader('Content-Length', String(range.end - range.start + 1));
  } else {
    res.setHeader('Content-Length', String(object.size));
  }
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  // A client that goes away mid-download ends the pipeline: nothing to report.
  pipeline(object.read(range), res).catch(() => undefined);
}

const corsHeaders: RequestHandler = (req, res, next) => {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader(
    'Access-Control-Expose-Headers',
    'Content-Range, Content-Length, ETag, Accept-Ranges, Last-Modified'
  );
  if (req.method === 'OPTIONS') {
    res.setHeader(
      'Access-Control-Allow-Methods',
      'GET, HEAD, POST, PUT, DELETE, OPTIONS'
    );
    res.setHeader(
      'Access-Control-Allow-Headers',
      'apikey, authorization, content-type, cache-control, x-client-info, x-upsert, x-metadata, range, if-none-match, if-range'
    );
    res.setHeader('Access-Control-Max-Age', '86400');
    res.status(204).end();
    return;
  }
  next();
};

function storageErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    let error: StorageError;
    if (err instanceof StorageError) {
      error = err;
    } else if (err instanceof ZodError) {
      error = storageErrors.invalidRequest(
        err.issues
          .map(i =>
            i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message
          )
          .join('; ')
      );
    } else if (err?.type === 'entity.parse.failed') {
      error = storageErrors.invalidRequest('Body is not valid JSON');
    } else if (err?.type === 'entity.too.large') {
      error = new StorageError(
        413,
        'EntityTooLarge',
        'The request body is too large.',
        'Payload too large'
      );
    } else {
      const known = knownProblem(err);
      if (known) {
        error = new StorageError(known.status, known.code, known.message);
      } else {
        logger.error(
          { err, method: req.method, path: req.path },
          'storage request failed'
        );
        error = storageErrors.internal();
      }
    }
    drainUnreadBody(req);
    res.status(error.status).json(error.render());
  };
}
