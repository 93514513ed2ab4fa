import { type Request, Router } from 'express';
import { carriesProxySecret, reachedAt } from '../http/forwarded';

/**
 * `GET /api/v1/config` (public, like the URL and anon key a Supabase project
 * publishes): what the frontend and scripts pass to supabase-js's
 * `createClient`. In embedded mode the URL is the sidecar's own, which serves
 * `/auth/v1` (and `/storage/v1`) — as the asker can reach it (see
 * `advertisedUrl`).
 */
export interface PublicConfig {
  supabase_url: string;
  supabase_anon_key: string;
  mode: 'embedded' | 'hosted';
  /** Whether sign-ups skip the confirmation mail; `null` when a hosted project decides. */
  autoconfirm: boolean | null;
}

export interface AdvertisedUrls {
  /** `INSIGHTER_PUBLIC_URL`: for every asker outside the lab. */
  configuredPublicUrl?: string;
  /** `INSIGHTER_PROXY_URL`, for a lab request that does not say how it came (no `X-Forwarded-Prefix`). */
  proxyUrl?: string;
  /** The Jupyter proxy's secret: it marks the lab's requests. */
  proxySecret?: string;
}

/**
 * The sidecar's URL for this asker. Through the Jupyter proxy (its secret):
 * the proxy's URL as the browser reached it, so the lab's own origin, under
 * JupyterHub the hub's public name. Anyone else reaches the sidecar itself:
 * the configured public URL, else the address they used for this request
 * (its host name passed the allowed-hosts check). Both may differ per asker,
 * and the answer goes to that asker only.
 */
export function advertisedUrl(req: Request, urls: AdvertisedUrls): string {
  if (carriesProxySecret(req, urls.proxySecret)) {
    if (req.get('x-forwarded-prefix') !== undefined) {
      return reachedAt(req);
    }
    // A proxy that does not say where it is: the one the Jupyter server named.
    return urls.proxyUrl ?? urls.configuredPublicUrl ?? reachedAt(req);
  }
  return urls.configuredPublicUrl ?? reachedAt(req);
}

export function configRoutes(
  publicConfig: (supabaseUrl: string) => PublicConfig,
  urls: AdvertisedUrls
): Router {
  const router = Router();
  router.get('/api/v1/config', (req, res) => {
    res.json(publicConfig(advertisedUrl(req, urls).replace(/\/+$/, '')));
  });
  return router;
}
