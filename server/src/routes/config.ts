import { Router } from 'express';

/**
 * `GET /api/v1/config` (public, like the URL and anon key a Supabase project
 * publishes): what the frontend and scripts pass to supabase-js's
 * `createClient`. In embedded mode the URL is the sidecar's own, which serves
 * `/auth/v1` (and `/storage/v1`).
 */
export interface PublicConfig {
  supabase_url: string;
  supabase_anon_key: string;
  mode: 'embedded' | 'hosted';
  /** Whether sign-ups skip the confirmation mail; `null` when a hosted project decides. */
  autoconfirm: boolean | null;
}

export function configRoutes(publicConfig: () => PublicConfig): Router {
  const router = Router();
  router.get('/api/v1/config', (_req, res) => {
    res.json(publicConfig());
  });
  return router;
}
