/**
 * The sidecar called as scripts (and kernels) call it: on its own port,
 * with a user's bearer token. Tests use it to set up what the browser part
 * does not test (accounts, a teammate's upload) and to check what the
 * browser did against the server's own answer.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { RunningLab } from '../extensions/app/test/support/lab';

/**
 * German Credit (1,000 rows, 62 columns), the shared test data: where
 * `npm test` found it (`INSIGHTER_TEST_GERMAN_CREDIT`), else `../shared`
 * beside the repository, else the workstation's copy.
 */
export const GERMAN_CREDIT =
  [
    process.env.INSIGHTER_TEST_GERMAN_CREDIT,
    path.resolve(__dirname, '../../shared/data/german_credit.csv'),
    '/work/shared/data/german_credit.csv'
  ].find((file): file is string => !!file && existsSync(file)) ??
  '/work/shared/data/german_credit.csv';

/** The password of every account these tests sign up (letters and digits, ≥ 8). */
export const PASSWORD = 'engine1843';

export interface IAccount {
  email: string;
  fullName: string;
  token: string;
}

export interface ISidecarAnswer<T> {
  status: number;
  body: T;
}

/** Calls the sidecar and returns its status and decoded answer, whatever the status. */
export async function callSidecar<T>(
  lab: RunningLab,
  method: string,
  relative: string,
  headers: Record<string, string> = {},
  body?: BodyInit
): Promise<ISidecarAnswer<T>> {
  const response = await fetch(`http://127.0.0.1:${lab.apiPort}/${relative}`, {
    method,
    headers,
    body
  });
  const text = await response.text();
  return {
    status: response.status,
    body: (text ? JSON.parse(text) : undefined) as T
  };
}

/** Calls the sidecar; an answer that is not 2xx fails the test with its body. */
export async function sidecar<T>(
  lab: RunningLab,
  method: string,
  relative: string,
  headers: Record<string, string> = {},
  body?: BodyInit
): Promise<T> {
  const answer = await callSidecar<T>(lab, method, relative, headers, body);
  if (answer.status < 200 || answer.status > 299) {
    throw new Error(
      `${method} ${relative} answered ${answer.status}: ${JSON.stringify(answer.body)}`
    );
  }
  return answer.body;
}

/** A confirmed account (the lab runs with INSIGHTER_AUTH_AUTOCONFIRM). */
export async function signUp(
  lab: RunningLab,
  name: string,
  fullName: string
): Promise<IAccount> {
  const { supabase_anon_key: anonKey } = await sidecar<{
    supabase_anon_key: string;
  }>(lab, 'GET', 'api/v1/config');
  const email = `${name}.${Date.now()}@example.com`;
  const session = await sidecar<{ access_token: string }>(
    lab,
    'POST',
    'auth/v1/signup',
    { apikey: anonKey, 'Content-Type': 'application/json' },
    JSON.stringify({
      email,
      password: PASSWORD,
      data: { full_name: fullName }
    })
  );
  return { email, fullName, token: session.access_token };
}

export function bearer(account: IAccount): Record<string, string> {
  return { Authorization: `Bearer ${account.token}` };
}
