import { Token } from '@lumino/coreutils';
import type { ISignal } from '@lumino/signaling';
import type { ISessionUser } from './tokens';

/**
 * The signed-in person as every tool may show them. Never carries tokens:
 * those are asked for through `ISession.getAccessToken()`, so a token that
 * went stale in someone's copy of the profile cannot be used by mistake.
 */
export interface ISessionProfile extends ISessionUser {
  /** As the person typed it at sign-up or in Settings → Profile; may be empty. */
  fullName: string;
  /** What greetings use: the first word of the full name, else the email's local part. */
  firstName: string;
}

/** Why the session changed, for listeners that react differently. */
export type SessionChangeReason =
  | 'restored'
  | 'signed-in'
  | 'signed-out'
  | 'refreshed'
  | 'profile-updated'
  | 'password-recovery';

export interface ISessionChangedArgs {
  user: ISessionProfile | null;
  reason: SessionChangeReason;
}

/**
 * The Insighter account session inside JupyterLab. One instance per page; it
 * keeps the session across reloads and refreshes the access token before it
 * expires. Tools read `user` and call the sidecar through `ISidecarClient`,
 * which asks this session for the token itself.
 */
export interface ISession {
  /** Settles once the stored session (or the one in a mail link) has been read. */
  readonly ready: Promise<void>;
  readonly isLoggedIn: boolean;
  readonly user: ISessionProfile | null;
  /**
   * The current access token, or `null` when signed out. Kept fresh in the
   * background; for a request, prefer `getAccessToken()`, which refreshes a
   * token that is about to expire before answering.
   */
  readonly accessToken: string | null;
  /** A token valid for the next request (refreshed first if close to expiry); `null` when signed out. */
  getAccessToken(): Promise<string | null>;
  /** Fires on sign-in, sign-out, restore, token refresh and profile change. */
  readonly changed: ISignal<ISession, ISessionChangedArgs>;
  /** Ends the session here and on the server; resolves once signed out locally. */
  signOut(): Promise<void>;
}

export const ISession = new Token<ISession>(
  '@insighter/core:ISession',
  'The signed-in Insighter user: profile, a fresh access token, sign-out, and a signal when any of it changes.'
);

/** The name greetings use: the full name's first word, else the email's local part. */
export function firstNameOf(fullName: string, email: string): string {
  const first = fullName.trim().split(/\s+/)[0];
  if (first) {
    return first;
  }
  return email.split('@')[0] ?? '';
}
