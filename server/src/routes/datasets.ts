import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import {
  Router,
  type ErrorRequestHandler,
  type Request,
  type RequestHandler,
  type Response
} from 'express';
import { z } from 'zod';
import { drainUnreadBody } from '../http/drain-body';
import { HttpError } from '../http/errors';
import { parseJsonBody } from '../http/parse-body';
import { optionalQuery } from '../http/query';
import { currentUser } from '../http/require-user';
import { setUserContentHeaders } from '../http/user-content';
import {
  AS_SERVICE,
  type DatasetContent,
  type DatasetsService
} from '../services/datasets';
import { ClientGone, PREVIEW_ROWS } from '../services/datasets-ingest';
import { jsonBody } from '../http/json-body';

/**
 * `/api/v1/datasets`: the data catalog. Every route needs a signed-in user
 * (`authenticate`). Mount before the app's JSON parser: uploads stream raw.
 *
 * - `POST /api/v1/datasets?project_id=&name=[&description=]` with the file
 *   as the body (`text/csv`, `application/vnd.apache.parquet`,
 *   `application/octet-stream`), or `multipart/form-data` with the file
 *   (field `file`) after optional `project_id`, `name` and `description`
 *   fields (the name defaults to the file's name) → 201 and the record,
 *   `ready` with its profile. An existing name gets the next version.
 * - `GET /api/v1/datasets[?project_id=]` → `{datasets: [...]}` (no `columns`).
 * - `GET /api/v1/datasets/:id[?version=N]` → the record.
 * - `PATCH /api/v1/datasets/:id` `{name?, description?}` → the record.
 * - `DELETE /api/v1/datasets/:id` and `/:id/versions/:version` → 204.
 * - `GET /api/v1/datasets/:id/content[?version=N][&format=csv]` → the file
 *   (Range, ETag), or as comma-separated CSV.
 * - `GET /api/v1/datasets/:id/preview[?version=N][&limit=50]` →
 *   `{columns, rows}`.
 *
 * Errors are `{error: {code, message, details?}}`: 400 `invalid_input`,
 * 403 `forbidden`, 404 `not_found`, 409 `conflict` / `not_ready`,
 * 413 `too_large`, 415 `unsupported_media_type`, 422 `invalid_file`.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export const datasetName = z
  .string({
    error: issue =>
      issue.input == null
        ? 'Dataset name is required.'
        : 'Dataset name must be text.'
  })
  .trim()
  .min(1, 'Dataset name is required.')
  .max(200, 'Dataset name must be at most 200 characters.')
  .refine(name => !/[/\\]/.test(name), {
    error: 'Dataset name must not contain "/" or "\\".'
  })
  .refine(name => !CONTROL.test(name), {
    error:
      'Dataset name must not contain control characters (tabs, line breaks…).'
  })
  .refine(name => !name.includes('..'), {
    error: 'Dataset name must not contain "..".'
  });

const description = z
  .string({ error: 'Dataset description must be text.' })
  .trim()
  .max(2000, 'Dataset description must be at most 2000 characters.');

const projectId = z
  .string({
    error: issue =>
      issue.input == null
        ? 'project_id is required: the id of the project the dataset belongs to.'
        : 'project_id must be the id of a project.'
  })
  .regex(UUID, 'project_id must be the id of a project.');

const uploadFields = z.object({
  project_id: projectId,
  name: datasetName,
  description: description.optional()
});

const patchBody = z
  .strictObject(
    { name: datasetName.optional(), description: description.optional() },
    {
      error: issue =>
        issue.code === 'unrecognized_keys'
          ? `Unknown field ${issue.keys?.map(k => `"${k}"`).join(', ')}: a dataset's name and description can be changed.`
          : undefined
    }
  )
  .refine(
    patch => patch.name !== undefined || patch.description !== undefined,
    {
      error: 'Nothing to change: send a name, a description or both.'
    }
  );

/** Content types a raw upload may declare; the content decides the format. */
const RAW_TYPES = new Set([
  'text/csv',
  'application/csv',
  'text/plain',
  'text/tab-separated-values',
  'application/vnd.ms-excel',
  'application/vnd.apache.parquet',
  'application/x-parquet',
  'application/parquet',
  'application/octet-stream'
]);

const FORM_LIMITS = { files: 1, fields: 20, fieldSize: 64 * 1024, parts: 40 };

const parseJson = jsonBody({ limit: '1mb' });

export function datasetRoutes(
  datasets: DatasetsService,
  authenticate: RequestHandler
): Router {
  const router = Router();
  router.use('/api/v1/datasets', authenticate);

  router.post('/api/v1/datasets', async (req, res) => {
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) {
        controller.abort();
      }
    });
    try {
      const upload = await readUpload(req, controller.signal);
      const record = await datasets.upload({
        user: currentUser(req),
        token: req.accessToken!,
        projectId: upload.fields.project_id,
        name: upload.fields.name,
        description: upload.fields.description,
        fileName: upload.fileName,
        body: upload.body,
        declaredBytes: upload.declaredBytes,
        signal: controller.signal
      });
      res.status(201).json(record);
    } catch (err) {
      if (err instanceof ClientGone) {
        req.log?.info('dataset upload abandoned by the client');
        res.destroy();
        return;
      }
      throw err;
    }
  });

  router.get('/api/v1/datasets', async (req, res) => {
    const project = optionalQuery(req, 'project_id');
    res.json({
      datasets: await datasets.list(currentUser(req), project ?? null)
    });
  });

  router.get('/api/v1/datasets/:id', async (req, res) => {
    res.json(
      await datasets.get(currentUser(req), req.params.id, versionQuery(req))
    );
  });

  router.patch('/api/v1/datasets/:id', parseJson, async (req, res) => {
    const patch = parseJsonBody(
      patchBody,
      req.body,
      '{"name": "Credit applications"}',
      'the changes as a JSON object'
    );
    res.json(await datasets.update(currentUser(req), req.params.id, patch));
  });

  router.delete('/api/v1/datasets/:id', async (req, res) => {
    await datasets.remove(
      currentUser(req),
      req.accessToken!,
      req.params.id,
      null
    );
    res.status(204).end();
  });

  router.delete('/api/v1/datasets/:id/versions/:version', async (req, res) => {
    const version = parseVersion(req.params.version);
    await datasets.remove(
      currentUser(req),
      req.accessToken!,
      req.params.id,
      version
    );
    res.status(204).end();
  });

  router.get('/api/v1/datasets/:id/preview', async (req, res) => {
    const limitText = optionalQuery(req, 'limit');
    const limit = limitText === undefined ? 50 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > PREVIEW_ROWS) {
      throw new HttpError(
        400,
        `limit must be a whole number from 1 to ${PREVIEW_ROWS}.`,
        'invalid_input'
      );
    }
    res.json(
      await datasets.preview(
        currentUser(req),
        req.params.id,
        versionQuery(req),
        limit
      )
    );
  });

  router.get('/api/v1/datasets/:id/content', async (req, res) => {
    const format = optionalQuery(req, 'format');
    if (format !== undefined && format !== 'csv') {
      throw new HttpError(
        400,
        'format can only be "csv" (the file converted to comma-separated CSV); leave it out for the file as uploaded.',
        'invalid_input'
      );
    }
    const content = await datasets.content(
      currentUser(req),
      // A job's token reaches this route for its own dataset version only (jobs/job-tokens.ts).
      req.job ? AS_SERVICE : req.accessToken!,
      req.params.id,
      versionQuery(req),
      format === 'csv'
    );
    try {
      await sendContent(req, res, content);
    } finally {
      await content.release();
    }
  });

  // Whatever refused an upload (401 included), its unread body goes.
  const drainOnError: ErrorRequestHandler = (err, req, _res, next) => {
    drainUnreadBody(req);
    next(err);
  };
  router.use('/api/v1/datasets', drainOnError);
  return router;
}

interface UploadParts {
  fields: z.infer<typeof uploadFields>;
  fileName?: string;
  body: Readable;
  declaredBytes?: number;
}

/**
 * The upload's fields and its file's bytes, unbuffered: the request itself
 * for a raw body, or the form's file part (fields sent before it count).
 */
async function readUpload(
  req: Request,
  signal: AbortSignal
): Promise<UploadParts> {
  const type = (req.headers['content-type'] ?? 'application/octet-stream')
    .split(';')[0]
    .trim()
    .toLowerCase();
  if (type === 'multipart/form-data') {
    const form = await readForm(req.headers, req, signal);
    return {
      fields: parseFields(
        {
          project_id:
            form.fields.project_id ?? optionalQuery(req, 'project_id'),
          name: form.fields.name ?? optionalQuery(req, 'name') ?? form.fileName,
          description:
            form.fields.description ?? optionalQuery(req, 'description')
        },
        () => form.file.resume()
      ),
      fileName: form.fileName,
      body: form.file
    };
  }
  if (!RAW_TYPES.has(type)) {
    throw new HttpError(
      415,
      `A dataset is uploaded as text/csv, application/vnd.apache.parquet or application/octet-stream (the raw file as the body), or as multipart/form-data with the file in a field named "file"; ${type} is not one of them.`,
      'unsupported_media_type'
    );
  }
  const declared = req.headers['content-length'];
  return {
    fields: parseFields({
      project_id: optionalQuery(req, 'project_id'),
      name: optionalQuery(req, 'name'),
      description: optionalQuery(req, 'description')
    }),
    body: req,
    declaredBytes: declared ? Number(declared) : undefined
  };
}

function parseFields(
  raw: Record<string, string | undefined>,
  onRefused?: () => void
): z.infer<typeof uploadFields> {
  const parsed = uploadFields.safeParse(raw);
  if (!parsed.success) {
    onRefused?.();
    const fields = parsed.error.issues.map(issue => ({
      field: issue.path.join('.') || null,
      message: issue.message
    }));
    throw new HttpError(
      400,
      [...new Set(fields.map(f => f.message))].join(' '),
      'invalid_input',
      { fields }
    );
  }
  return parsed.data;
}

interface FormFile {
  fields: Record<string, string>;
  fileName?: string;
  file: Readable;
}

function readForm(
  headers: IncomingHttpHeaders,
  request: Request,
  signal: AbortSignal
): Promise<FormFile> {
  return new Promise((resolve, reject) => {
    let form: busboy.Busboy;
    try {
      // The file's name as sent: a name that is a path is refused, not cut.
      form = busboy({ headers, limits: FORM_LIMITS, preservePath: true });
    } catch {
      reject(
        new HttpError(
          400,
          'The multipart form has no boundary.',
          'invalid_input'
        )
      );
      return;
    }
    const fields: Record<string, string> = {};
    let file: Readable | undefined;
    form.on('field', (name, value) => {
      fields[name] = value;
    });
    form.once('file', (_name, stream, info) => {
      file = stream;
      signal.addEventListener('abort', () => stream.destroy(new ClientGone()), {
        once: true
      });
      resolve({ fields, fileName: info.filename || undefined, file: stream });
    });
    form.on('error', err => {
      if (file) {
        file.destroy(err as Error);
      } else {
        reject(
          new HttpError(
            400,
            `The multipart form could not be read: ${(err as Error).message}`,
            'invalid_input'
          )
        );
      }
    });
    form.on('close', () => {
      if (!file) {
        reject(
          new HttpError(
            400,
            'The form holds no file: send the dataset in a field named "file".',
            'invalid_input'
          )
        );
      }
    });
    request.pipe(form);
  });
}

/** Streams the file with its headers; one byte range (206) or 416 when asked. */
async function sendContent(
  req: Request,
  res: Response,
  content: DatasetContent
): Promise<void> {
  res.setHeader('Content-Type', content.contentType);
  res.setHeader('ETag', content.eTag);
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Cache-Control', 'private, no-cache');
  setUserContentHeaders(res, {
    contentType: content.contentType,
    fileName: content.fileName,
    download: true
  });
  if (req.fresh) {
    res.status(304).end();
    return;
  }
  let range: { start: number; end: number } | undefined;
  const ifRange = req.get('if-range');
  if (req.headers.range && (!ifRange || ifRange === content.eTag)) {
    const ranges = req.range(content.size, { combine: true });
    if (ranges === -1) {
      res.setHeader('Content-Range', `bytes */${content.size}`);
      throw new HttpError(
        416,
        `The range is outside the file (${content.size} bytes).`,
        'invalid_range'
      );
    }
    // Malformed, not bytes, or several ranges: the whole file (RFC 9110 allows it).
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
      `bytes ${range.start}-${range.end}/${content.size}`
    );
    res.setHeader('Content-Length', String(range.end - range.start + 1));
  } else {
    res.setHeader('Content-Length', String(content.size));
  }
  if (req.method === 'HEAD' || content.size === 0) {
    res.end();
    return;
  }
  const controller = new AbortController();
  res.on('close', () => controller.abort());
  const bytes = await content.read(range, controller.signal);
  // A client that goes away mid-download ends the pipeline: nothing to report.
  await pipeline(bytes, res).catch(() => {
    res.destroy();
  });
}

function versionQuery(req: Request): number | null {
  const value = optionalQuery(req, 'version');
  return value === undefined ? null : parseVersion(value);
}

function parseVersion(value: string): number {
  const version = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(version) || version < 1) {
    throw new HttpError(
      400,
      'version must be a whole number from 1 up.',
      'invalid_input'
    );
  }
  return version;
}
