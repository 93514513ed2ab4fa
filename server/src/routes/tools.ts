import type { Express, RequestHandler } from 'express';
import { Router } from 'express';
import {
  toolsInOrder,
  type StudioSection,
  type ToolEntry,
  type ToolRegistry
} from '@insighter/registry';

/**
 * `GET /api/v1/tools`: the tool registry as this sidecar serves it — every
 * tool of the manifest in sidebar order, with `mounted: true` when a route
 * under its `routes` prefix exists here. Answer: `{sections, tools}`.
 */
export interface ToolInfo extends ToolEntry {
  mounted: boolean;
}

export interface ToolsAnswer {
  sections: StudioSection[];
  tools: ToolInfo[];
}

export function toolRoutes(
  registry: ToolRegistry,
  /** The paths of every route the sidecar serves; read per request, after all are mounted. */
  servedPaths: () => string[],
  authenticate: RequestHandler
): Router {
  const router = Router();
  router.get('/api/v1/tools', authenticate, (_req, res) => {
    const paths = servedPaths();
    const answer: ToolsAnswer = {
      sections: [...registry.sections].sort((a, b) => a.order - b.order),
      tools: toolsInOrder(registry).map(tool => ({
        ...tool,
        mounted: paths.some(p =>
          p.endsWith('/*')
            ? tool.routes.startsWith(p.slice(0, -1))
            : p === tool.routes || p.startsWith(`${tool.routes}/`)
        )
      }))
    };
    res.json(answer);
  });
  return router;
}

interface RouterLayer {
  route?: { path?: unknown };
  handle?: { stack?: RouterLayer[] };
  /** Router 2.x: the path a layer was mounted at (`app.use('/x', router)`). */
  rawPath?: unknown;
  /** Router 2.x: mounted at `/` without a path, i.e. matching everything. */
  slash?: boolean;
}

/**
 * The full path of every route an Express app serves, sub-routers included,
 * read from the router's own layers (Express 5 / router 2.x). Regular
 * expression paths are skipped: tool prefixes are plain paths.
 */
export function routePaths(app: Express): string[] {
  const stack = (app as unknown as { router?: { stack?: RouterLayer[] } })
    .router?.stack;
  return stack ? collect(stack, '') : [];
}

function collect(stack: RouterLayer[], base: string): string[] {
  const paths: string[] = [];
  for (const layer of stack) {
    if (layer.route) {
      for (const path of stringPaths(layer.route.path)) {
        paths.push(base + path);
      }
    } else if (!Array.isArray(layer.handle?.stack)) {
      // Middleware mounted at a prefix answers everything under it (MLflow's
      // API dispatches its own methods): reported as `<prefix>/*`.
      if (!layer.slash) {
        for (const mount of stringPaths(layer.rawPath)) {
          if (mount !== '/') {
            paths.push(`${base}${mount}/*`);
          }
        }
      }
    } else {
      const mounts = layer.slash ? [''] : stringPaths(layer.rawPath);
      for (const mount of mounts) {
        paths.push(
          ...collect(layer.handle.stack, base + (mount === '/' ? '' : mount))
        );
      }
    }
  }
  return paths;
}

function stringPaths(path: unknown): string[] {
  const all = Array.isArray(path) ? path.flat(Infinity) : [path];
  return all.filter((p): p is string => typeof p === 'string');
}
