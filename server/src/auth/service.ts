import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Database, JwtClaims, Queryable } from '../db/types';
import type { Logger } from '../logger';
import { issueAccessToken } from './access-tokens';
import type { AuthConfig } from './config';
import {
  badJwt,
  GoTrueError,
  invalidCredentials,
  linkInvalid,
  validationFailed
} from './errors';
import type { JwtKeys } from './keys';
import type { MailSeal } from './mail-seal';
import { composeMail, type Mailer, type MailMessage } from './mailer';
import { insertMail, setMailStatus } from './outbox';
import {
  hashPassword,
  MAX_PASSWORD_LENGTH,
  needsRehash,
  passwordWeakness,
  verifyAgainstDecoy,
  verifyPassword
} from './passwords';
import { resolveRedirect } from './redirects';
import { randomToken, tokenHash } from './secure-tokens';
import * as store from './store';
import { InvalidTokenError, type TokenVerifier } from './token-verifier';
import { toGoTrueUser, type GoTrueUser } from './user-json';

/**
 * The embedded auth server's rules, in GoTrue's terms: what `/auth/v1` does,
 * with no HTTP in sight. Writes run as the service in one transaction each,
 * so a crash leaves either the whole change or none of it.
 */
export interface AuthServiceDeps {
  db: Database;
  keys: JwtKeys;
  verifier: TokenVerifier;
  config: AuthConfig;
  mailer: Mailer;
  /**
   * Told after sessions of the user ended (sign-out, new password, a stolen
   * refresh token): tokens of those sessions stop working at once.
   */
  sessionsEnded?: (userId: string) => void;
  /** Seals the outbox copy of each mail: the link in it is live. */
  mailSeal: MailSeal;
  /** The sidecar's public URL (known only after listening when the port is 0). */
  publicUrl: () => string;
  /** The `iss` of the access tokens it issues (the live verifier expects it). */
  issuer: () => string;
  logger: Logger;
}

/** Who is asking, for the session record. */
export interface ClientInfo {
  ip?: string;
  userAgent?: string;
}

export interface SessionResponse {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  expires_at: number;
  refresh_token: string;
  user: GoTrueUser;
}

export type LinkType = 'signup' | 'recovery';

export interface SignupInput {
  email?: string;
  password?: string;
  data?: Record<string, unknown>;
  redirectTo?: string;
}

export interface UserUpdate {
  email?: string;
  password?: string;
  data?: Record<string, unknown>;
}

/**
 * The query parameter of a mail link's one-time token (`/auth/v1/verify?token_hash=…`),
 * the name supabase-js's `verifyOtp({ token_hash })` gives it. Links sent
 * before used `token`; `GET /verify` still reads that.
 */
export const LINK_TOKEN_PARAM = 'token_hash';

const SIGNUP_LINK_TTL_S = 24 * 3600;
const RECOVERY_LINK_TTL_S = 3600;
const MAX_EMAIL_LENGTH = 255;
const MAX_NAME_LENGTH = 200;
const emailSchema = z.email();

export class AuthService {
  constructor(private readonly deps: AuthServiceDeps) {}

  /** `POST /signup`: the user, their profile (trigger) and the mail commit together. */
  async signup(
    input: SignupInput,
    client: ClientInfo
  ): Promise<SessionResponse | GoTrueUser> {
    const email = validEmail(input.email);
    const password = validNewPassword(input.password);
    const fullName = validFullName(input.data?.full_name);
    const encryptedPassword = await hashPassword(password);
    const autoconfirm = this.deps.config.autoconfirm;
    const id = randomUUID();
    const link = autoconfirm
      ? undefined
      : this.link('signup', input.redirectTo);

    const result = await this.deps.db
      .asService(async tx => {
        if (await store.findUserByEmail(tx, email)) {
          throw userAlreadyExists();
        }
        let user = await store.insertUser(tx, {
          id,
          email,
          encryptedPassword,
          confirmed: autoconfirm,
          appMetadata: { provider: 'email', providers: ['email'] },
          userMetadata: {
            ...input.data,
            full_name: fullName,
            sub: id,
            email,
            email_verified: autoconfirm,
            phone_verified: false
          }
        });
        if (link) {
          const mail = await this.queueMail(tx, user, 'signup', link);
          return { user, mail };
        }
        const session = await this.startSession(tx, user, 'password', client);
        user = (await store.findUserById(tx, user.id))!;
        return { user, session };
      })
      .catch(err => {
        // Two sign-ups racing for one email: the unique index decides.
        if ((err as { code?: string })?.code === '23505') {
          throw userAlreadyExists();
        }
        throw err;
      });

    if (result.mail) {
      await this.deliver(result.mail, async () => {
        // The mail never left: undo the sign-up so it can simply be retried.
        await this.deps.db.asService(tx => store.deleteUnconfirmedUser(tx, id));
      });
      return toGoTrueUser(result.user);
    }
    const response = await this.sessionResponse(result.user, result.session!);
    await this.acceptInvitations(response);
    return response;
  }

  /** `POST /token?grant_type=password`: one answer for a wrong email or a wrong password. */
  async signInWithPassword(
    input: { email?: string; password?: string },
    client: ClientInfo
  ): Promise<SessionResponse> {
    if (!input.email && !input.password) {
      throw validationFailed('missing email or phone');
    }
    const email = (input.email ?? '').trim();
    const password = input.password ?? '';
    const user = await this.deps.db.asService(tx =>
      store.findUserByEmail(tx, email)
    );
    const valid =
      user?.encrypted_password && password
        ? await verifyPassword(user.encrypted_password, password)
        : await verifyAgainstDecoy(password);
    if (!user || !valid) {
      throw invalidCredentials();
    }
    if (
      user.banned_until &&
      new Date(user.banned_until).getTime() > Date.now()
    ) {
      throw new GoTrueError(400, 'user_banned', 'User is banned');
    }
    if (!user.email_confirmed_at) {
      throw new GoTrueError(400, 'email_not_confirmed', 'Email not confirmed');
    }
    const rehash = needsRehash(user.encrypted_password!)
      ? await hashPassword(password)
      : undefined;
    const { session, fresh } = await this.deps.db.asService(async tx => {
      if (rehash) {
        await store.setEncryptedPassword(tx, user.id, rehash);
      }
      const session = await this.startSession(tx, user, 'password', client);
      return { session, fresh: (await store.findUserById(tx, user.id))! };
    });
    const response = await this.sessionResponse(fresh, session);
    await this.acceptInvitations(response);
    return response;
  }

  /**
   * `POST /token?grant_type=refresh_token`: rotates the token. A rotated token
   * presented again after the reuse interval means it was copied: the session
   * ends for everyone holding it.
   */
  async refresh(refreshToken: string | undefined): Promise<SessionResponse> {
    if (!refreshToken || refreshToken.length < 12) {
      throw validationFailed('Refresh token is not valid');
    }
    const hash = tokenHash(refreshToken);
    const reuseMs = this.deps.config.refreshReuseIntervalSeconds * 1000;
    const outcome = await this.deps.db.asService(async tx => {
      const token = await store.findRefreshToken(tx, hash);
      if (!token) {
        return { error: refreshTokenNotFound() };
      }
      if (
        token.revoked &&
        Date.now() - new Date(token.updated_at).getTime() > reuseMs
      ) {
        await store.deleteSession(tx, token.session_id);
        return {
          endedFor: token.user_id,
          error: new GoTrueError(
            400,
            'refresh_token_already_used',
            'Invalid Refresh Token: Already Used'
          )
        };
      }
      const user = await store.findUserById(tx, token.user_id);
      const session = await store.findSession(tx, token.session_id);
      if (!user || !session) {
        return {
          error: new GoTrueError(
            400,
            'session_not_found',
            'Invalid Refresh Token: No Valid Session Found'
          )
        };
      }
      await store.revokeRefreshToken(tx, hash);
      const next = randomToken();
      await store.insertRefreshToken(tx, tokenHash(next), session.id, hash);
      return { user, session: { ...session, refreshToken: next } };
    });
    if (outcome.error) {
      if (outcome.endedFor) {
        this.deps.sessionsEnded?.(outcome.endedFor);
      }
      // Thrown after commit: ending a session on reuse must not be rolled back.
      throw outcome.error;
    }
    return this.sessionResponse(outcome.user!, outcome.session!);
  }

  /**
   * The user and session behind an access token, for `/user` and `/logout`.
   * Unlike `requireUser`, this also insists the session still exists, as GoTrue does.
   */
  async authenticate(
    accessToken: string | undefined
  ): Promise<{ claims: JwtClaims; user: store.UserRow; sessionId?: string }> {
    if (!accessToken) {
      throw new GoTrueError(
        401,
        'no_authorization',
        'This endpoint requires a valid Bearer token'
      );
    }
    let claims: JwtClaims;
    try {
      claims = await this.deps.verifier.verify(accessToken);
    } catch (err) {
      if (err instanceof InvalidTokenError) {
        throw badJwt(err.message);
      }
      throw err;
    }
    if (!claims.sub) {
      throw badJwt('invalid claim: missing sub claim');
    }
    if (!isUuid(claims.sub)) {
      throw new GoTrueError(
        400,
        'bad_jwt',
        'invalid claim: sub claim must be a UUID'
      );
    }
    const sessionId =
      typeof claims.session_id === 'string' ? claims.session_id : undefined;
    if (sessionId !== undefined && !isUuid(sessionId)) {
      throw badJwt('invalid claim: session_id claim must be a UUID');
    }
    const { user, session } = await this.deps.db.asService(async tx => ({
      user: await store.findUserById(tx, claims.sub),
      session: sessionId ? await store.findSession(tx, sessionId) : undefined
    }));
    if (!user) {
      throw new GoTrueError(
        403,
        'user_not_found',
        'User from sub claim in JWT does not exist'
      );
    }
    if (sessionId && (!session || session.user_id !== user.id)) {
      throw new GoTrueError(
        403,
        'session_not_found',
        'Session from session_id claim in JWT does not exist'
      );
    }
    return { claims, user, sessionId };
  }

  async getUser(accessToken: string | undefined): Promise<GoTrueUser> {
    return toGoTrueUser((await this.authenticate(accessToken)).user);
  }

  /**
   * `PUT /user`: metadata (merged; `null` removes a key) and password. A new
   * password ends the user's other sessions and voids pending email links.
   */
  async updateUser(
    accessToken: string | undefined,
    update: UserUpdate
  ): Promise<GoTrueUser> {
    const { user, sessionId } = await this.authenticate(accessToken);
    if (
      update.email !== undefined &&
      update.email.trim().toLowerCase() !== user.email
    ) {
      throw validationFailed(
        'Changing the email address is not supported yet.'
      );
    }
    let metadata: Record<string, unknown> | undefined;
    if (update.data) {
      if ('full_name' in update.data) {
        update.data.full_name = validFullName(update.data.full_name);
      }
      metadata = { ...(user.raw_user_meta_data ?? {}) };
      for (const [key, value] of Object.entries(update.data)) {
        if (value === null) {
          delete metadata[key];
        } else {
          metadata[key] = value;
        }
      }
    }
    let encryptedPassword: string | undefined;
    if (update.password !== undefined) {
      const password = validNewPassword(update.password);
      if (
        user.encrypted_password &&
        (await verifyPassword(user.encrypted_password, password))
      ) {
        throw new GoTrueError(
          422,
          'same_password',
          'New password should be different from the old password.'
        );
      }
      encryptedPassword = await hashPassword(password);
    }
    const fresh = await this.deps.db.asService(async tx => {
      if (metadata) {
        await store.setUserMetadata(tx, user.id, metadata);
      }
      if (encryptedPassword) {
        await store.setEncryptedPassword(tx, user.id, encryptedPassword);
        await store.deleteOneTimeTokens(tx, user.id);
        await store.deleteUserSessions(tx, user.id, sessionId);
      }
      return (await store.findUserById(tx, user.id))!;
    });
    if (encryptedPassword) {
      this.deps.sessionsEnded?.(user.id);
    }
    return toGoTrueUser(fresh);
  }

  /** `POST /logout?scope=global|local|others`. */
  async logout(
    accessToken: string | undefined,
    scope: string | undefined
  ): Promise<void> {
    const kind = scope ?? 'global';
    if (!['global', 'local', 'others'].includes(kind)) {
      throw validationFailed(`Unsupported logout scope "${kind}"`);
    }
    const { user, sessionId } = await this.authenticate(accessToken);
    await this.deps.db.asService(async tx => {
      if (kind === 'local' && sessionId) {
        await store.deleteSession(tx, sessionId);
      } else if (kind === 'others' && sessionId) {
        await store.deleteUserSessions(tx, user.id, sessionId);
      } else {
        await store.deleteUserSessions(tx, user.id);
      }
    });
    this.deps.sessionsEnded?.(user.id);
  }

  /** `POST /recover`: the same empty answer whether or not the email has an account. */
  async recover(
    emailInput: string | undefined,
    redirectTo?: string
  ): Promise<void> {
    if (!emailInput) {
      throw validationFailed('Password recovery requires an email');
    }
    await this.sendLink('recovery', validEmail(emailInput), redirectTo);
  }

  /** `POST /resend` with `type: signup`: a fresh confirmation link for an unconfirmed account. */
  async resend(
    type: string | undefined,
    emailInput: string | undefined,
    redirectTo?: string
  ) {
    if (type !== 'signup') {
      throw validationFailed('Only type "signup" can be resent here.');
    }
    if (!emailInput) {
      throw validationFailed('Type provided requires an email address');
    }
    await this.sendLink('signup', validEmail(emailInput), redirectTo);
  }

  /**
   * `GET /verify` (the mail link): redirects to the allowed `redirect_to` with
   * the session in the URL fragment, or with GoTrue's error parameters.
   */
  async verifyLink(
    token: string | undefined,
    type: string | undefined,
    redirectTo: string | undefined
  ): Promise<string> {
    const target = resolveRedirect(redirectTo, this.redirectPolicy());
    try {
      if (!type) {
        throw validationFailed('Verify requires a verification type');
      }
      if (!token) {
        throw validationFailed('Verify requires a token or a token hash');
      }
      const session = await this.verify(token, linkType(type));
      const fragment = new URLSearchParams({
        access_token: session.access_token,
        expires_at: String(session.expires_at),
        expires_in: String(session.expires_in),
        refresh_token: session.refresh_token,
        token_type: session.token_type,
        type,
        sb: ''
      });
      return `${withoutFragment(target)}#${fragment}`;
    } catch (err) {
      if (!(err instanceof GoTrueError)) {
        throw err;
      }
      const fragment = new URLSearchParams({
        error: err.status === 403 ? 'access_denied' : 'invalid_request',
        error_code: err.code,
        error_description: err.message,
        sb: ''
      });
      return `${withoutFragment(target)}#${fragment}`;
    }
  }

  /** `POST /verify` (`verifyOtp({ token_hash, type })`, or `{ email, token, type }`). */
  async verifyOtp(input: {
    type?: string;
    token?: string;
    token_hash?: string;
    email?: string;
  }): Promise<SessionResponse> {
    if (!input.type) {
      throw validationFailed('Verify requires a verification type');
    }
    if (Boolean(input.token) === Boolean(input.token_hash)) {
      throw validationFailed('Verify requires either a token or a token hash');
    }
    const type = input.type === 'email' ? 'email' : linkType(input.type);
    if (input.token_hash) {
      if (type === 'email') {
        throw validationFailed(
          'Only the token_hash and type should be provided'
        );
      }
      return this.verify(input.token_hash, type);
    }
    // `{ email, token }`: the token of the link, checked against that account.
    const email = validEmail(input.email);
    const types: LinkType[] =
      type === 'email' ? ['signup', 'recovery'] : [type];
    for (const candidate of types) {
      try {
        return await this.verify(input.token!, candidate, email);
      } catch (err) {
        if (!(err instanceof GoTrueError) || err.code !== 'otp_expired') {
          throw err;
        }
      }
    }
    throw new GoTrueError(
      403,
      'otp_expired',
      'Token has expired or is invalid'
    );
  }

  /** GoTrue's `GET /settings`, for clients that ask what is enabled. */
  settings() {
    return {
      external: {
        anonymous_users: false,
        email: true,
        phone: false
      },
      disable_signup: false,
      mailer_autoconfirm: this.deps.config.autoconfirm,
      phone_autoconfirm: false,
      sms_provider: '',
      saml_enabled: false,
      passkeys_enabled: false
    };
  }

  private async verify(
    token: string,
    type: LinkType,
    expectedEmail?: string
  ): Promise<SessionResponse> {
    const { user, session } = await this.deps.db.asService(async tx => {
      const userId = await store.consumeOneTimeToken(
        tx,
        tokenHash(token),
        type
      );
      const user = userId && (await store.findUserById(tx, userId));
      if (!user || (expectedEmail && user.email !== expectedEmail)) {
        throw linkInvalid();
      }
      // Following either link proves the address: recovery confirms too, as in GoTrue.
      await store.confirmEmail(tx, user.id);
      const session = await this.startSession(tx, user, 'otp', {});
      return { user: (await store.findUserById(tx, user.id))!, session };
    });
    const response = await this.sessionResponse(user, session);
    await this.acceptInvitations(response);
    return response;
  }

  private async sendLink(
    purpose: LinkType,
    email: string,
    redirectTo?: string
  ): Promise<void> {
    const link = this.link(purpose, redirectTo);
    const mail = await this.deps.db.asService(async tx => {
      const user = await store.findUserByEmail(tx, email);
      if (!user || (purpose === 'signup' && user.email_confirmed_at)) {
        return undefined;
      }
      return this.queueMail(tx, user, purpose, link);
    });
    if (mail) {
      await this.deliver(mail);
    }
  }

  /** Stores the link's token (hashed) and the mail that carries it, in the caller's transaction. */
  private async queueMail(
    tx: Queryable,
    user: store.UserRow,
    purpose: LinkType,
    link: { url: string; token: string }
  ): Promise<QueuedMail> {
    await store.putOneTimeToken(tx, {
      userId: user.id,
      purpose,
      tokenHash: tokenHash(link.token),
      expiresInSeconds:
        purpose === 'signup' ? SIGNUP_LINK_TTL_S : RECOVERY_LINK_TTL_S
    });
    await store.markMailSent(tx, user.id, purpose);
    const name = user.raw_user_meta_data?.full_name;
    const message = composeMail(
      purpose,
      user.email,
      link.url,
      typeof name === 'string' ? name : undefined
    );
    const id = randomUUID();
    await insertMail(tx, {
      id,
      userId: user.id,
      purpose,
      to: message.to,
      subject: message.subject,
      // The database never holds the link in the clear (mail-seal.ts).
      sealed: this.deps.mailSeal.seal(id, {
        text: message.text,
        html: message.html,
        link: link.url
      }),
      status: this.deps.mailer.kind === 'smtp' ? 'pending' : 'stored'
    });
    return { id, purpose, message };
  }

  /** SMTP delivery after commit; a failure is recorded and reported (GoTrue's 500). */
  private async deliver(
    mail: QueuedMail,
    undo?: () => Promise<unknown>
  ): Promise<void> {
    if (this.deps.mailer.kind !== 'smtp') {
      return;
    }
    try {
      await this.deps.mailer.deliver(mail.message);
      await this.deps.db.asService(tx => setMailStatus(tx, mail.id, 'sent'));
    } catch (err) {
      this.deps.logger.error(
        { err, mailId: mail.id },
        'auth mail delivery failed'
      );
      await this.deps.db.asService(tx =>
        setMailStatus(
          tx,
          mail.id,
          'failed',
          err instanceof Error ? err.message : String(err)
        )
      );
      await undo?.();
      const what = mail.purpose === 'signup' ? 'confirmation' : 'recovery';
      throw new GoTrueError(
        500,
        'unexpected_failure',
        `Error sending ${what} email`
      );
    }
  }

  private link(purpose: LinkType, redirectTo: string | undefined) {
    const token = randomToken();
    const url = new URL(
      `${this.deps.publicUrl().replace(/\/+$/, '')}/auth/v1/verify`
    );
    // Not `token`: behind the Jupyter proxy, Jupyter reads `?token=` as its
    // own credential, ahead of an `Authorization: token …` header.
    url.searchParams.set(LINK_TOKEN_PARAM, token);
    url.searchParams.set('type', purpose);
    url.searchParams.set(
      'redirect_to',
      resolveRedirect(redirectTo, this.redirectPolicy())
    );
    return { url: url.toString(), token };
  }

  private redirectPolicy() {
    const publicUrl = this.deps.publicUrl();
    return {
      siteUrl: this.deps.config.siteUrl ?? publicUrl,
      publicUrl,
      extraPrefixes: this.deps.config.redirectUrls
    };
  }

  private async startSession(
    tx: Queryable,
    user: store.UserRow,
    method: 'password' | 'otp',
    client: ClientInfo
  ): Promise<SessionWithToken> {
    const session = await store.insertSession(tx, {
      id: randomUUID(),
      userId: user.id,
      amr: [{ method, timestamp: Math.floor(Date.now() / 1000) }],
      userAgent: client.userAgent,
      ip: client.ip
    });
    const refreshToken = randomToken();
    await store.insertRefreshToken(tx, tokenHash(refreshToken), session.id);
    await store.recordSignIn(tx, user.id);
    return { ...session, refreshToken };
  }

  private async sessionResponse(
    user: store.UserRow,
    session: SessionWithToken
  ): Promise<SessionResponse> {
    const expiresIn = this.deps.config.jwtExpirySeconds;
    const { token, expiresAt } = await issueAccessToken({
      user,
      sessionId: session.id,
      aal: session.aal,
      amr: session.amr,
      issuer: this.deps.issuer(),
      expiresInSeconds: expiresIn,
      secret: this.deps.keys.secret
    });
    return {
      access_token: token,
      token_type: 'bearer',
      expires_in: expiresIn,
      expires_at: expiresAt,
      refresh_token: session.refreshToken,
      user: toGoTrueUser(user)
    };
  }

  /**
   * Team invitations addressed to this email become memberships once the
   * address is proven. A failure here must not lock the user out: logged.
   */
  private async acceptInvitations(session: SessionResponse): Promise<void> {
    try {
      const claims = await this.deps.verifier.verify(session.access_token);
      await this.deps.db.withClaims(claims, tx =>
        tx.query('select * from public.accept_team_invitations()')
      );
    } catch (err) {
      this.deps.logger.warn(
        { err, userId: session.user.id },
        'accepting team invitations after sign-in failed'
      );
    }
  }
}

interface QueuedMail {
  id: string;
  purpose: LinkType;
  message: MailMessage;
}

type SessionWithToken = store.SessionRow & { refreshToken: string };

function validEmail(input: string | undefined): string {
  const email = (input ?? '').trim().toLowerCase();
  if (!email) {
    throw validationFailed('An email address is required');
  }
  if (email.length > MAX_EMAIL_LENGTH) {
    throw validationFailed('An email address is too long');
  }
  if (!emailSchema.safeParse(email).success) {
    throw validationFailed(`Unable to validate email address: invalid format`);
  }
  return email;
}

function validNewPassword(password: string | undefined): string {
  if (!password) {
    throw validationFailed('Signup requires a valid password');
  }
  if ([...password].length > MAX_PASSWORD_LENGTH) {
    throw validationFailed(
      `Password cannot be longer than ${MAX_PASSWORD_LENGTH} characters`
    );
  }
  const weakness = passwordWeakness(password);
  if (weakness) {
    throw new GoTrueError(422, 'weak_password', weakness.message, {
      weak_password: { reasons: weakness.reasons }
    });
  }
  return password;
}

function validFullName(value: unknown): string {
  const name =
    typeof value === 'string' ? value.trim().replace(/\s+/g, ' ') : '';
  if (!name) {
    throw validationFailed(
      'A full name is required: send it as data.full_name.'
    );
  }
  if (name.length > MAX_NAME_LENGTH) {
    throw validationFailed(
      `A full name cannot be longer than ${MAX_NAME_LENGTH} characters.`
    );
  }
  return name;
}

function linkType(type: string): LinkType {
  if (type !== 'signup' && type !== 'recovery') {
    throw validationFailed('Unsupported verification type');
  }
  return type;
}

function userAlreadyExists() {
  return new GoTrueError(422, 'user_already_exists', 'User already registered');
}

function refreshTokenNotFound() {
  return new GoTrueError(
    400,
    'refresh_token_not_found',
    'Invalid Refresh Token: Refresh Token Not Found'
  );
}

function isUuid(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(
    s
  );
}

function withoutFragment(url: string): string {
  const i = url.indexOf('#');
  return i === -1 ? url : url.slice(0, i);
}
