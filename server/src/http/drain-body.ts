import type { Request } from 'express';

/** After a refusal, this much more of an unread body is drained; then the connection is cut. */
export const DRAIN_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * A refused upload may still be arriving: read and drop the rest so the
 * client gets the answer on a healthy connection, up to a limit past which
 * the connection is cut (as Supabase does) rather than receiving gigabytes.
 */
export function drainUnreadBody(req: Request, limit = DRAIN_LIMIT_BYTES): void {
  if (req.readableEnded || req.destroyed) {
    return;
  }
  let drained = 0;
  req.unpipe();
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > limit) {
      req.destroy();
    }
  });
  req.resume();
}
