import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { authConfigFrom, authEnvShape, type AuthConfig } from './auth/config';
import { DEFAULT_STATEMENT_TIMEOUT_MS } from './db/connector';
import { addressList } from './http/forwarded';
import { jobsConfigFrom, jobsEnvShape, type JobsConfig } from './jobs/config';

/**
 * The sidecar's configuration, read once from the environment.
 *
 * Names are contracts shared with the Jupyter server app and with scripts:
 * keep them as they are (add, never rename).
 */
const portSchema = z.coerce.number().int().min(0).max(65535);

const envSchema = z.object({
  INSIGHTER_HOST: z.string().min(1).default('127.0.0.1'),
  INSIGHTER_API_PORT: portSchema.default(8000),
  INSIGHTER_DATA_DIR: z.string().min(1).optional(),
  INSIGHTER_LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info'),
  /** Where clients outside the lab reach the sidecar (a reverse proxy's address); unset: its own. */
  INSIGHTER_PUBLIC_URL: z.string().url().optional(),
  /** Where the lab's browser reaches the sidecar: the Jupyter proxy (set by the Jupyter server). */
  INSIGHTER_PROXY_URL: z.preprocess(
    value => (value === '' ? undefined : value),
    z.string().url().optional()
  ),
  /** Reverse proxies whose X-Forwarded-* headers count (addresses or CIDR ranges, comma-separated). */
  INSIGHTER_TRUSTED_PROXIES: z.string().default(''),
  /** More host names the sidecar answers to (comma-separated; `.example.org` for subdomains, `*` for any). */
  INSIGHTER_ALLOWED_HOSTS: z.string().default(''),
  /**
   * How long in-flight requests may take to finish on SIGTERM before their
   * connections are closed; a whole stop must end within 5 s (src/main.ts).
   */
  INSIGHTER_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(3000),
  /** The longest one SQL statement may run; 0: no limit. */
  INSIGHTER_DB_STATEMENT_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(DEFAULT_STATEMENT_TIMEOUT_MS),
  /**
   * `off`: the embedded database and Storage skip fsync — faster writes, but
   * a power cut may lose acknowledged ones. Only for throwaway sessions.
   */
  INSIGHTER_DURABILITY: z.enum(['on', 'off']).default('on'),
  /** Any Postgres 15+ (e.g. Supabase's); unset: embedded PGlite in the data dir. */
  DATABASE_URL: z.preprocess(
    value => (value === '' ? undefined : value),
    z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// or postgresql:// URL')
      .optional()
  ),
  /** A tool manifest (JSON, see registry/README.md) instead of the bundled one. */
  INSIGHTER_TOOLS_MANIFEST: z.string().min(1).optional(),
  /** Largest object the embedded Storage accepts (bytes); larger uploads get 413. */
  INSIGHTER_STORAGE_MAX_BYTES: z.preprocess(
    value => (value === '' ? undefined : value),
    z.coerce
      .number()
      .int()
      .min(1)
      .default(5 * 1024 ** 3)
  ),
  /** Longest lifetime of a Storage signed URL (seconds); longer `expiresIn` gets 400. */
  INSIGHTER_STORAGE_SIGNED_URL_MAX_S: z.preprocess(
    value => (value === '' ? undefined : value),
    z.coerce
      .number()
      .int()
      .min(1)
      .default(7 * 24 * 3600)
  ),
  /** Largest dataset upload (bytes); larger ones get 413 and stop being read. */
  INSIGHTER_MAX_UPLOAD_BYTES: z.preprocess(
    value => (value === '' ? undefined : value),
    z.coerce
      .number()
      .int()
      .min(1)
      .default(5 * 1024 ** 3)
  ),
  /** Largest prediction request body (bytes) at /api/v1/predict/<slug>; larger ones get 413. */
  INSIGHTER_PREDICT_MAX_BYTES: z.preprocess(
    value => (value === '' ? undefined : value),
    z.coerce
      .number()
      .int()
      .min(1024)
      .default(5 * 1024 ** 2)
  ),
  /** An external MLflow server (http(s)://…) instead of the built-in tracking. */
  MLFLOW_TRACKING_URI: z.preprocess(
    value => (value === '' ? undefined : value),
    z
      .string()
      .regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL of an MLflow server')
      .optional()
  ),
  /** Sent to that server as a bearer token, as MLflow's clients do (a secret: never logged). */
  MLFLOW_TRACKING_TOKEN: z.preprocess(
    value => (value === '' ? undefined : value),
    z.string().optional()
  ),
  ...jobsEnvShape,
  ...authEnvShape
});

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  logLevel: string;
  /** Where clients outside the lab reach the sidecar: `INSIGHTER_PUBLIC_URL`, else its own address. */
  publicUrl: string;
  /** `INSIGHTER_PUBLIC_URL` when set: advertised to every asker outside the lab. */
  configuredPublicUrl?: string;
  /** Where the lab's browser reaches it through the Jupyter proxy (`INSIGHTER_PROXY_URL`). */
  proxyUrl?: string;
  /**
   * Where links in mail lead and what tokens name as issuer: the configured
   * public URL, else the Jupyter proxy (the person reading the mail has the
   * lab open in that browser), else the sidecar's own address.
   */
  linkUrl: string;
  shutdownTimeoutMs: number;
  /** Who may forward requests, and which host names are answered (see http/forwarded.ts, http/allowed-hosts.ts). */
  http: { trustedProxies: string[]; allowedHosts: string[] };
  /** Set: Postgres at this URL (may hold a password: never log it). */
  databaseUrl?: string;
  /** The longest one SQL statement may run before it is ended (0: no limit). */
  statementTimeoutMs: number;
  /**
   * The embedded database and Storage fsync what they acknowledge (false:
   * INSIGHTER_DURABILITY=off). An external Postgres keeps its own settings.
   */
  durable: boolean;
  /** Embedded GoTrue or a hosted Supabase project; keys, mail, rate limits. */
  auth: AuthConfig;
  /** Training jobs: runner, Docker engine, limits. */
  jobs: JobsConfig;
  /** Path of the tool manifest; unset: `@insighter/registry`'s own. */
  toolsManifest?: string;
  /** The embedded `/storage/v1` (served when auth is embedded). */
  storage: { maxObjectBytes: number; signedUrlMaxSeconds: number };
  /** The data catalog's uploads. */
  datasets: { maxUploadBytes: number };
  /** The prediction endpoints. */
  deployments: { maxBodyBytes: number };
  /** Set: an external MLflow server (the token is a secret: never log it). */
  mlflow?: { uri: string; token?: string };
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .map(issue => `${issue.path.join('.')}: ${issue.message}`)
      .join('; ');
    throw new ConfigError(`Invalid Insighter configuration: ${detail}`);
  }
  const e = parsed.data;
  let auth: AuthConfig;
  try {
    auth = authConfigFrom(e);
  } catch (err) {
    throw new ConfigError(`Invalid Insighter configuration: ${(err as Error).message}`);
  }
  const trustedProxies = commaList(e.INSIGHTER_TRUSTED_PROXIES);
  try {
    addressList(trustedProxies);
  } catch (err) {
    throw new ConfigError(
      `Invalid Insighter configuration: INSIGHTER_TRUSTED_PROXIES: ${(err as Error).message}`
    );
  }
  const ownUrl = `http://${e.INSIGHTER_HOST}:${e.INSIGHTER_API_PORT}`;
  const dataDir = path.resolve(
    e.INSIGHTER_DATA_DIR ?? path.join(os.homedir(), '.insighter')
  );
  return {
    host: e.INSIGHTER_HOST,
    port: e.INSIGHTER_API_PORT,
    dataDir,
    logLevel: e.INSIGHTER_LOG_LEVEL,
    publicUrl: e.INSIGHTER_PUBLIC_URL ?? ownUrl,
    configuredPublicUrl: e.INSIGHTER_PUBLIC_URL,
    proxyUrl: e.INSIGHTER_PROXY_URL,
    linkUrl: e.INSIGHTER_PUBLIC_URL ?? e.INSIGHTER_PROXY_URL ?? ownUrl,
    shutdownTimeoutMs: e.INSIGHTER_SHUTDOWN_TIMEOUT_MS,
    http: {
      trustedProxies,
      allowedHosts: commaList(e.INSIGHTER_ALLOWED_HOSTS)
    },
    databaseUrl: e.DATABASE_URL,
    statementTimeoutMs: e.INSIGHTER_DB_STATEMENT_TIMEOUT_MS,
    durable: e.INSIGHTER_DURABILITY === 'on',
    auth,
    jobs: jobsConfigFrom(e),
    toolsManifest: e.INSIGHTER_TOOLS_MANIFEST
      ? path.resolve(e.INSIGHTER_TOOLS_MANIFEST)
      : undefined,
    storage: {
      maxObjectBytes: e.INSIGHTER_STORAGE_MAX_BYTES,
      signedUrlMaxSeconds: e.INSIGHTER_STORAGE_SIGNED_URL_MAX_S
    },
    datasets: { maxUploadBytes: e.INSIGHTER_MAX_UPLOAD_BYTES },
    deployments: { maxBodyBytes: e.INSIGHTER_PREDICT_MAX_BYTES },
    mlflow: e.MLFLOW_TRACKING_URI
      ? { uri: e.MLFLOW_TRACKING_URI, token: e.MLFLOW_TRACKING_TOKEN }
      : undefined
  };
}

function commaList(value: string): string[] {
  return value
    .split(',')
    .map(entry => entry.trim())
    .filter(Boolean);
}
