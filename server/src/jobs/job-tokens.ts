import { jwtVerify, SignJWT } from 'jose';
import type { Request } from 'express';
import type { JobTokenCheck } from '../auth/live-tokens';
import { loadOrCreateSecret } from '../auth/keys';
import { InvalidTokenError, type JobScope } from '../auth/token-verifier';
import type { Database, JwtClaims, Queryable } from '../db/types';

/**
 * The token a job talks to the sidecar with (its run's tracking, its
 * dataset's download), as the user who started it: RLS treats the job as
 * that person, within a much smaller reach than theirs.
 *
 * - Signed with a key of its own (`secrets/job-token-secret`), never the auth
 *   server's: no auth server (embedded or a hosted Supabase project) accepts
 *   it, and the sidecar accepts it only where a job may go.
 * - Scoped: `insighter_job` names the job, whose row says the project, run,
 *   experiment, dataset version and model. The job may log to that run,
 *   upload its artifacts, register that model and read that dataset version;
 *   anything else is refused with 403 (`jobRequestAllowed` here, and
 *   tracking/job-access.ts for the fields of MLflow calls).
 * - Live only while the job is queued or running: it stops working as soon
 *   as the job ends (`ended`), and in any case after INSIGHTER_JOB_TOKEN_TTL_S.
 * Tokens travel in the job's environment only: never argv, labels or logs.
 */
export interface JobTokenIssuer {
  issue(user: JwtClaims, jobId: string): Promise<string>;
  /** The job ended: its token stops working now. */
  ended(jobId: string): void;
}

/** Claims carried over from the user's token; the rest are the job token's own. */
const CARRIED = [
  'email',
  'phone',
  'app_metadata',
  'user_metadata',
  'aal',
  'amr',
  'is_anonymous'
];

const SECRET_FILE = 'job-token-secret';
const ISSUER = 'insighter-jobs';
const AUDIENCE = 'authenticated';
const ENDED_REMEMBERED_MS = 10 * 60 * 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface JobTokensOptions {
  db: Database;
  dataDir: string;
  ttlSeconds: number;
  /** How long a job's "still running" is reused (ms); an end here is seen at once. */
  cacheMs?: number;
}

export class JobTokens implements JobTokenIssuer, JobTokenCheck {
  private readonly cache = new Map<
    string,
    { scope: Promise<JobScope | undefined>; until: number }
  >();
  /** Jobs that ended here, before (and while) their row says so: when each ended. */
  private readonly endedAt = new Map<string, number>();

  private constructor(
    private readonly secret: Uint8Array,
    private readonly options: JobTokensOptions
  ) {}

  static async create(options: JobTokensOptions): Promise<JobTokens> {
    const secret = await loadOrCreateSecret(options.dataDir, SECRET_FILE, {
      minLength: 32,
      ifShort:
        'delete it to generate a new one (running jobs then lose their access)'
    });
    return new JobTokens(new TextEncoder().encode(secret), options);
  }

  async issue(user: JwtClaims, jobId: string): Promise<string> {
    const claims: Record<string, unknown> = {};
    for (const key of CARRIED) {
      if (user[key] !== undefined) {
        claims[key] = user[key];
      }
    }
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      ...claims,
      aud: AUDIENCE,
      role: 'authenticated',
      insighter_job: jobId
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(user.sub)
      .setIssuedAt(now)
      .setExpirationTime(now + this.options.ttlSeconds)
      .sign(this.secret);
  }

  async verify(token: string): Promise<JwtClaims> {
    let claims: JwtClaims;
    try {
      ({ payload: claims } = (await jwtVerify(token, this.secret, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['exp', 'sub']
      })) as unknown as { payload: JwtClaims });
    } catch {
      throw new InvalidTokenError(
        "invalid JWT: this training job's token is forged or has expired"
      );
    }
    const jobId = claims.insighter_job;
    const job = typeof jobId === 'string' ? await this.scope(jobId) : undefined;
    if (!job || job.userId !== claims.sub || claims.role !== 'authenticated') {
      throw new InvalidTokenError(
        'invalid JWT: the training job this token belongs to has ended'
      );
    }
    return claims;
  }

  /** What a queued or running job may reach; undefined once it ended (or never was). */
  scope(jobId: string): Promise<JobScope | undefined> {
    if (!UUID.test(jobId) || this.endedAt.has(jobId)) {
      return Promise.resolve(undefined);
    }
    const now = Date.now();
    const cached = this.cache.get(jobId);
    if (cached && cached.until > now) {
      return cached.scope;
    }
    for (const [id, entry] of this.cache) {
      if (entry.until <= now) {
        this.cache.delete(id);
      }
    }
    const scope = this.options.db.asService(tx => runningJob(tx, jobId));
    const entry = { scope, until: now + (this.options.cacheMs ?? 2000) };
    this.cache.set(jobId, entry);
    scope.catch(() => {
      if (this.cache.get(jobId) === entry) {
        this.cache.delete(jobId);
      }
    });
    return scope;
  }

  ended(jobId: string): void {
    this.cache.delete(jobId);
    const now = Date.now();
    // By then the job's row says it ended: the database answers alone.
    for (const [id, at] of this.endedAt) {
      if (now - at > ENDED_REMEMBERED_MS) {
        this.endedAt.delete(id);
      }
    }
    this.endedAt.set(jobId, now);
  }
}

async function runningJob(
  tx: Queryable,
  jobId: string
): Promise<JobScope | undefined> {
  const { rows } = await tx.query<{
    id: string;
    created_by: string;
    project_id: string;
    run_id: string;
    experiment_id: string | null;
    dataset_id: string;
    dataset_version: number | null;
    model_name: string | null;
  }>(
    `select id, created_by, project_id, run_id, experiment_id, dataset_id,
            dataset_version, model_name
       from public.jobs
      where id = $1 and status in ('queued', 'running')`,
    [jobId]
  );
  const row = rows[0];
  return (
    row && {
      jobId: row.id,
      userId: row.created_by,
      projectId: row.project_id,
      runId: row.run_id,
      experimentId: row.experiment_id,
      datasetId: row.dataset_id,
      datasetVersion: row.dataset_version,
      modelName: row.model_name
    }
  );
}

const MLFLOW_PATHS = [
  '/api/2.0/mlflow/',
  '/ajax-api/2.0/mlflow/',
  '/api/2.0/mlflow-artifacts/'
];

/**
 * The routes a job's token may reach at all: its dataset version's content,
 * and MLflow's API, whose fields tracking/job-access.ts checks against the
 * job's run, experiment and model once the body is read.
 */
export function jobRequestAllowed(req: Request, job: JobScope): boolean {
  const path = `${req.baseUrl}${req.path}`;
  if (MLFLOW_PATHS.some(prefix => path.startsWith(prefix))) {
    return true;
  }
  const version = req.query.version;
  return (
    req.method === 'GET' &&
    path === `/api/v1/datasets/${job.datasetId}/content` &&
    (job.datasetVersion === null || version === String(job.datasetVersion))
  );
}
