import { Token } from '@lumino/coreutils';
import type { SessionModel } from './sessionmodel';

/**
 * The session with its account actions (sign up, log in, reset, profile) and
 * the state the account views render. Other tools use `ISession` from
 * `@insighter/core`, which is the same object seen through its public face.
 */
export type IAccountSession = SessionModel;

export const IAccountSession = new Token<IAccountSession>(
  '@insighter/auth:IAccountSession',
  "Insighter's account session: sign-up, log-in, password reset, profile changes and the state the account views show."
);
