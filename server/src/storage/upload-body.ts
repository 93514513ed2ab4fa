import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { storageErrors } from './errors';
import type { UploadBody } from './service';

/**
 * An upload's bytes as Supabase Storage accepts them: either the raw body
 * (`content-type` and `cache-control` headers, `x-metadata` as base64 JSON),
 * or a multipart form whose first file is the object (what storage-js sends
 * for a Blob or File) with `cacheControl` (seconds) and `metadata` fields.
 * Neither is buffered: the stream is the request's own or the form part's.
 */
export function readUploadBody(
  headers: IncomingHttpHeaders,
  request: Readable
): Promise<UploadBody> {
  const contentType = headers['content-type'] ?? '';
  if (/^multipart\/form-data/i.test(contentType)) {
    return readFormFile(headers, request);
  }
  return Promise.resolve({
    stream: request,
    contentType: contentType || 'application/octet-stream',
    cacheControl: headerValue(headers['cache-control']) ?? 'no-cache',
    userMetadata: decodeMetadataHeader(headerValue(headers['x-metadata']))
  });
}

const FORM_LIMITS = { files: 1, fields: 20, fieldSize: 64 * 1024, parts: 40 };

function readFormFile(
  headers: IncomingHttpHeaders,
  request: Readable
): Promise<UploadBody> {
  return new Promise((resolve, reject) => {
    let form: busboy.Busboy;
    try {
      form = busboy({ headers, limits: FORM_LIMITS });
    } catch {
      reject(
        storageErrors.invalidRequest('The multipart form has no boundary.')
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
      try {
        resolve({
          stream,
          contentType: info.mimeType || 'application/octet-stream',
          cacheControl: fields.cacheControl
            ? `max-age=${fields.cacheControl}`
            : 'no-cache',
          userMetadata: fields.metadata ? parseMetadata(fields.metadata) : null
        });
      } catch (err) {
        stream.resume();
        reject(err);
      }
    });
    form.on('error', err => {
      if (file) {
        file.destroy(err as Error);
      } else {
        reject(
          storageErrors.invalidRequest(
            `The multipart form could not be read: ${(err as Error).message}`
          )
        );
      }
    });
    form.on('close', () => {
      if (!file) {
        reject(
          storageErrors.invalidRequest('The multipart form holds no file.')
        );
      }
    });
    request.pipe(form);
  });
}

function decodeMetadataHeader(value: string | undefined) {
  if (!value) {
    return null;
  }
  return parseMetadata(Buffer.from(value, 'base64').toString('utf8'));
}

function parseMetadata(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw storageErrors.invalidRequest(
      'The object metadata is not valid JSON.'
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw storageErrors.invalidRequest(
      'The object metadata must be a JSON object.'
    );
  }
  return parsed as Record<string, unknown>;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
