import { type Request, type RequestHandler, Router } from 'express';
import { z } from 'zod';
import type { OutboxService } from '../auth/outbox-service';
import { HttpError } from '../http/errors';
import {
  carriesProxySecret,
  forwardedByUntrustedPeer
} from '../http/forwarded';

/**
 * The embedded mailbox: `GET /api/v1/outbox` (newest first) and
 * `GET /api/v1/outbox/:id`. Mail holds live confirmation and reset links, so
 * only the machine's owner may read it: the Jupyter proxy proves that with
 * the shared secret it adds for its logged-in user; with no secret
 * configured, only clients on this machine (loopback) get in.
 */
export interface OutboxRouteDeps {
  /** Undefined in hosted mode: Supabase sends the mail. */
  outbox?: OutboxService;
  proxySecret?: string;
}

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50)
});
const idParam = z.object({ id: z.uuid({ message: 'Mail ids are UUIDs.' }) });

export function outboxRoutes(deps: OutboxRouteDeps): Router {
  const router = Router();
  const guard = ownerOnly(deps.proxySecret);

  router.get('/api/v1/outbox', guard, async (req, res) => {
    const { limit } = listQuery.parse(req.query);
    res.json({ messages: await embedded(deps).list(limit) });
  });

  router.get('/api/v1/outbox/:id', guard, async (req, res) => {
    const { id } = idParam.parse(req.params);
    const mail = await embedded(deps).get(id);
    if (!mail) {
      throw new HttpError(404, `No mail with id ${id} in the outbox.`);
    }
    res.json(mail);
  });
  return router;
}

function embedded(deps: OutboxRouteDeps): OutboxService {
  if (!deps.outbox) {
    throw new HttpError(
      404,
      'There is no outbox: auth mail is sent by the hosted Supabase project (see its Auth logs).'
    );
  }
  return deps.outbox;
}

function ownerOnly(secret: string | undefined): RequestHandler {
  return (req, _res, next) => {
    if (secret) {
      if (!carriesProxySecret(req, secret)) {
        throw new HttpError(
          403,
          'The outbox is readable only through the Jupyter server of the machine owner.'
        );
      }
    } else if (!isLoopback(req)) {
      throw new HttpError(
        403,
        'The outbox is readable only from this machine (or set INSIGHTER_PROXY_SECRET for the Jupyter proxy).'
      );
    }
    next();
  };
}

/**
 * Both the TCP peer and the forwarded client (behind a trusted proxy) must
 * be local; a local proxy nobody trusts may be relaying a remote client.
 */
function isLoopback(req: Request): boolean {
  return (
    !forwardedByUntrustedPeer(req) &&
    [req.socket.remoteAddress, req.ip].every(addr => isLoopbackAddress(addr))
  );
}

function isLoopbackAddress(addr: string | undefined): boolean {
  if (!addr) {
    return false;
  }
  const v4 = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  return v4 === '::1' || /^127\.\d+\.\d+\.\d+$/.test(v4);
}
