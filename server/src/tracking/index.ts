import type { Database } from '../db/types';
import type { EventHub } from '../events/hub';
import type { HealthCheck } from '../services/status';
import type { StorageService } from '../storage/service';
import { ArtifactsService } from './artifacts-service';
import { ModelProvenance } from './model-provenance';
import { PostgresTrackingStore } from './postgres-tracking-store';
import { RegistryService } from './registry-service';
import { RestTrackingStore, type RestTrackingOptions } from './rest-tracking-store';
import { TrackingService } from './tracking-service';
import type { TrackingStore } from './tracking-store';

/**
 * Tracking, assembled for the mode in use. Built-in: the MLflow-compatible
 * services on the sidecar's database (what `/api/2.0/mlflow` serves and what
 * the TrackingStore uses). External (`MLFLOW_TRACKING_URI`): the REST client
 * of that server is the TrackingStore, and `/api/2.0/mlflow` is relayed to it.
 */
export interface Tracking {
  readonly mode: 'built-in' | 'external';
  readonly store: TrackingStore;
  readonly health: HealthCheck;
  /** Built-in only: what `/api/2.0/mlflow` serves. */
  readonly services?: {
    tracking: TrackingService;
    registry: RegistryService;
    artifacts: ArtifactsService;
    /** Which versions Insighter's jobs produced. */
    provenance: ModelProvenance;
  };
  /** External only: the server `/api/2.0/mlflow` is relayed to. */
  readonly external?: RestTrackingStore;
}

export interface CreateTrackingOptions {
  db: Database;
  events: EventHub;
  /** The embedded Storage, where built-in artifacts live (absent with hosted Supabase). */
  storage?: StorageService;
  /** Set: an external MLflow server is used instead of the built-in one. */
  external?: RestTrackingOptions;
}

export function createTracking(options: CreateTrackingOptions): Tracking {
  if (options.external) {
    const store = new RestTrackingStore(options.external);
    return {
      mode: 'external',
      store,
      external: store,
      health: {
        name: 'tracking',
        check: () => store.check()
      }
    };
  }
  const tracking = new TrackingService(options.db, options.events);
  const registry = new RegistryService(options.db, options.events);
  const artifacts = new ArtifactsService(options.db, options.storage);
  const { db } = options;
  return {
    mode: 'built-in',
    store: new PostgresTrackingStore(tracking, registry, artifacts),
    services: {
      tracking,
      registry,
      artifacts,
      provenance: new ModelProvenance(options.db, registry, artifacts)
    },
    health: {
      name: 'tracking',
      async check() {
        // The tables are there and answer: the built-in server can serve.
        await db.asService(tx => tx.query('select 1 from public.runs limit 1'));
        return {
          state: 'ok',
          detail: options.storage
            ? 'Built-in MLflow-compatible tracking at /api/2.0/mlflow, artifacts in Storage.'
            : 'Built-in MLflow-compatible tracking at /api/2.0/mlflow; artifacts need the embedded Storage.',
          backend: 'built-in'
        };
      }
    }
  };
}

export { MlflowError } from './errors';
export type { TrackingStore } from './tracking-store';
