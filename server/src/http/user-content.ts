import type { Response } from 'express';

/**
 * Headers for bytes that people uploaded (Storage objects, run artifacts,
 * dataset files). The sidecar is reached on the lab's own origin through the
 * Jupyter proxy, so a browser that renders an uploaded page there hands its
 * script Jupyter's cookies and APIs. Whatever the stored type claims:
 * - only a few types that browsers show without running anything (images
 *   other than SVG, plain text, CSV, JSON) may be shown in the tab; every
 *   other type is a download (`Content-Disposition: attachment`);
 * - `X-Content-Type-Options: nosniff`: the browser takes the type as sent
 *   and does not guess HTML from the bytes;
 * - `Content-Security-Policy: sandbox`: should a document render anyway, it
 *   runs in an opaque origin without scripts.
 */
const SHOWN_INLINE = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'image/bmp',
  'text/plain',
  'text/csv',
  'application/json'
]);

export const USER_CONTENT_POLICY = 'sandbox';

/** Whether a stored type may be shown in the tab (its media type, parameters aside). */
export function shownInline(contentType: string): boolean {
  const essence = contentType.split(';', 1)[0].trim().toLowerCase();
  return SHOWN_INLINE.has(essence);
}

/**
 * Sets the headers above; `download` forces an attachment (the client asked
 * for one, e.g. Storage's `?download=`).
 */
export function setUserContentHeaders(
  res: Response,
  file: { contentType: string; fileName: string; download?: boolean }
): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Content-Security-Policy', USER_CONTENT_POLICY);
  if (file.download || !shownInline(file.contentType)) {
    res.setHeader('Content-Disposition', attachment(file.fileName));
  }
}

/** `attachment` with an ASCII fallback name and the exact one in UTF-8 (RFC 6266). */
export function attachment(fileName: string): string {
  const fallback = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}
