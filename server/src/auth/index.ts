import type { Database } from '../db/types';
import type { Logger } from '../logger';
import type { PublicConfig } from '../routes/config';
import type { AuthConfig } from './config';
import { issuerAt } from './access-tokens';
import { loadJwtKeys } from './keys';
import { MailSeal } from './mail-seal';
import { outboxMailer, smtpMailer, type Mailer } from './mailer';
import { OutboxService } from './outbox-service';
import { AuthService } from './service';
import { liveTokenVerifier, type LiveTokenVerifier } from './live-tokens';
import { databaseSessions, goTrueSessions } from './session-lookups';
import { jwksTokenVerifier, secretTokenVerifier } from './token-verifier';

/**
 * Auth, assembled for the mode in use. Embedded: the sidecar is a GoTrue for
 * its own users (keys in the data dir; its tables, from `auth/sql`, are applied
 * by the migration runner beside `auth.users`). Hosted:
 * a Supabase project is, and the sidecar only verifies its tokens.
 */
export interface Auth {
  readonly mode: 'embedded' | 'hosted';
  /**
   * The one verifier of every API family (`requireUser`, Storage, MLflow,
   * predictions, the event stream): signature, `aud`, `iss` and a live
   * session (live-tokens.ts).
   */
  readonly verifier: LiveTokenVerifier;
  /** Embedded only: what `/auth/v1` serves. */
  readonly service?: AuthService;
  /** Embedded only: the mailbox behind `/api/v1/outbox`. */
  readonly outbox?: OutboxService;
  /** The keys `/auth/v1` accepts as `apikey` (embedded only). */
  readonly apiKeys: string[];
  /** What `/api/v1/config` answers; embedded: `supabaseUrl` (default the public URL) is the sidecar's. */
  publicConfig(supabaseUrl?: string): PublicConfig;
  close(): Promise<void>;
}

export interface CreateAuthOptions {
  config: AuthConfig;
  dataDir: string;
  /**
   * Where links in mail lead and the tokens' issuer (the configured public
   * URL, else the Jupyter proxy's); read at request time (port 0 is known
   * after listen).
   */
  publicUrl: () => string;
  /**
   * Embedded only: the `iss` of its access tokens; default
   * `<public url>/auth/v1`. The sidecar gives the configured URL (port 0
   * included), so tokens outlive a restart on another port.
   */
  issuer?: () => string;
  logger: Logger;
  /** Needed in embedded mode only. */
  db?: Database;
}

export async function createAuth(options: CreateAuthOptions): Promise<Auth> {
  const { config } = options;
  if (config.hosted) {
    const hosted = config.hosted;
    const verifier = liveTokenVerifier({
      signature: hosted.jwtSecret
        ? secretTokenVerifier(new TextEncoder().encode(hosted.jwtSecret))
        : jwksTokenVerifier(hosted.url),
      issuer: () => issuerAt(hosted.url),
      sessions: goTrueSessions(hosted.url, hosted.anonKey),
      cacheMs: config.sessionCheckMs
    });
    return {
      mode: 'hosted',
      verifier,
      apiKeys: [],
      publicConfig: () => ({
        supabase_url: hosted.url,
        supabase_anon_key: hosted.anonKey,
        mode: 'hosted',
        autoconfirm: null
      }),
      close: async () => undefined
    };
  }

  const { db } = options;
  if (!db) {
    throw new Error(
      'Embedded auth needs the database: open it before creating auth.'
    );
  }
  const keys = await loadJwtKeys(options.dataDir);
  // GoTrue's own routes check the session themselves (AuthService.authenticate).
  const signature = secretTokenVerifier(keys.secret);
  const issuer = options.issuer ?? (() => issuerAt(options.publicUrl()));
  const verifier = liveTokenVerifier({
    signature,
    issuer,
    sessions: databaseSessions(db),
    cacheMs: config.sessionCheckMs
  });
  const mailer: Mailer = config.smtp
    ? smtpMailer(config.smtp.url, config.smtp.from)
    : outboxMailer();
  const mailSeal = await MailSeal.load(options.dataDir);
  const service = new AuthService({
    db,
    keys,
    verifier: signature,
    sessionsEnded: userId => verifier.sessionsEnded(userId),
    config,
    mailer,
    mailSeal,
    publicUrl: options.publicUrl,
    issuer,
    logger: options.logger
  });
  return {
    mode: 'embedded',
    verifier,
    service,
    outbox: new OutboxService(db, mailSeal),
    apiKeys: [keys.anonKey, keys.serviceRoleKey],
    publicConfig: supabaseUrl => ({
      supabase_url: (supabaseUrl ?? options.publicUrl()).replace(/\/+$/, ''),
      supabase_anon_key: keys.anonKey,
      mode: 'embedded',
      autoconfirm: config.autoconfirm
    }),
    close: async () => mailer.close()
  };
}
