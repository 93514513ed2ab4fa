import { Router } from 'express';
import type { StatusService } from '../services/status';

/** Liveness (`/health`, public: process managers poll it) and component status. */
export function healthRoutes(status: StatusService): Router {
  const router = Router();
  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Public on purpose: the status bar shows it before anyone logs in, and it
  // reveals only component states, never configuration or secrets.
  router.get('/api/v1/status', async (_req, res) => {
    res.json(await status.status());
  });
  return router;
}
