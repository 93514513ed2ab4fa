import { Router, type Request } from 'express';
import type { StatusService } from '../services/status';

/**
 * Liveness (`/health`, public: process managers poll it) and component
 * status. The status is public on purpose (the status bar shows it before
 * anyone signs in), but only as states: the details name folders, free
 * space, the Docker socket and versions, so they go to callers who are
 * signed in (`isSignedIn`) alone.
 */
export function healthRoutes(
  status: StatusService,
  isSignedIn: (req: Request) => Promise<boolean>
): Router {
  const router = Router();
  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/api/v1/status', async (req, res) => {
    const [full, signedIn] = await Promise.all([
      status.status(),
      isSignedIn(req)
    ]);
    res.json(signedIn ? full : status.statesOnly(full));
  });
  return router;
}
