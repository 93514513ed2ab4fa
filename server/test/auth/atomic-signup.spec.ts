import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../src/db/open';
import { silentLogger } from '../support/postgres';
import {
  exited,
  seedMigratedDataDir,
  startSidecarProcess
} from '../support/sidecar-process';
import {
  GOOD_PASSWORD,
  startAuthTestServer,
  uniqueEmail,
  type AuthTestServer
} from './support';

/**
 * A sign-up is one transaction: the user, their profile (trigger), the
 * confirmation token and the mail. Whatever fails or dies midway, there is
 * never a user without the rest.
 */
describe('sign-up is all or nothing', () => {
  let t: AuthTestServer;
  beforeAll(async () => {
    t = await startAuthTestServer();
  });
  afterAll(() => t?.close());

  it('leaves no user, profile or token when writing the mail fails', async () => {
    await t.db.asService(async tx => {
      await tx.query(`
        create function auth.test_refuse_mail() returns trigger language plpgsql as $$
        begin raise exception 'outbox unavailable (test)'; end $$`);
      await tx.query(`
        create trigger test_refuse_mail before insert on auth.insighter_mail_outbox
        for each row execute function auth.test_refuse_mail()`);
    });
    const email = uniqueEmail('atomic');
    const res = await t.request('/auth/v1/signup', {
      method: 'POST',
      json: { email, password: GOOD_PASSWORD, data: { full_name: 'At Omic' } }
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ code: 'unexpected_failure' });
    const left = await t.db.asService(tx =>
      tx.query<{ users: number; profiles: number; tokens: number }>(
        `select (select count(*)::int from auth.users where email = $1) as users,
                (select count(*)::int from public.profiles) as profiles,
                (select count(*)::int from auth.insighter_one_time_tokens) as tokens`,
        [email]
      )
    );
    expect(left.rows[0]).toEqual({ users: 0, profiles: 0, tokens: 0 });

    await t.db.asService(tx =>
      tx.query('drop trigger test_refuse_mail on auth.insighter_mail_outbox')
    );
    const retry = await t.request('/auth/v1/signup', {
      method: 'POST',
      json: { email, password: GOOD_PASSWORD, data: { full_name: 'At Omic' } }
    });
    expect(retry.status).toBe(200);
    expect((await t.outbox()).map(m => m.to)).toContain(email);
  });
});

describe('a sidecar killed during sign-ups', () => {
  const dataDir = fs.mkdtempSync(
    path.join(os.tmpdir(), 'insighter-kill-test-')
  );
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('restarts on the same data dir with no half-made user', async () => {
    await seedMigratedDataDir(dataDir);
    const first = await startSidecarProcess(dataDir);
    child = first.process;
    const anonKey = await anonKeyOf(first.url);

    // Sign-ups from 6 concurrent clients; SIGKILL once some have succeeded,
    // while others are in flight.
    const attempted: string[] = [];
    const succeeded: string[] = [];
    let killed = false;
    const worker = async () => {
      while (!killed) {
        const email = uniqueEmail('kill');
        attempted.push(email);
        try {
          const res = await fetch(`${first.url}/auth/v1/signup`, {
            method: 'POST',
            headers: { apikey: anonKey, 'content-type': 'application/json' },
            body: JSON.stringify({
              email,
              password: GOOD_PASSWORD,
              data: { full_name: 'K Ill' }
            })
          });
          if (res.status === 200) {
            succeeded.push(email);
          }
        } catch {
          // The connection died with the process: the outcome is unknown.
        }
      }
    };
    const workers = Array.from({ length: 6 }, worker);
    const deadline = Date.now() + 30_000;
    while (succeeded.length < 12 && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 5));
    }
    first.process.kill('SIGKILL');
    killed = true;
    await Promise.all(workers);
    await exited(first.process);
    expect(succeeded.length).toBeGreaterThanOrEqual(12);
    expect(attempted.length).toBeGreaterThan(succeeded.length);

    // It starts again on the same data dir and works.
    const second = await startSidecarProcess(dataDir);
    child = second.process;
    const again = await fetch(`${second.url}/auth/v1/signup`, {
      method: 'POST',
      headers: { apikey: anonKey, 'content-type': 'application/json' },
      body: JSON.stringify({
        email: uniqueEmail('after'),
        password: GOOD_PASSWORD,
        data: { full_name: 'Af Ter' }
      })
    });
    expect(again.status).toBe(200);
    second.process.kill('SIGTERM');
    await exited(second.process);

    // Every user that exists is whole; every acknowledged sign-up exists.
    const { db } = await openDatabase(
      { backend: 'pglite', dataDir: path.join(dataDir, 'db') },
      { logger: silentLogger }
    );
    try {
      const users = await db.asService(tx =>
        tx.query<{
          email: string;
          profile: boolean;
          token: boolean;
          mails: number;
        }>(
          `select u.email,
                  exists (select 1 from public.profiles p where p.id = u.id) as profile,
                  exists (select 1 from auth.insighter_one_time_tokens o
                           where o.user_id = u.id and o.purpose = 'signup') as token,
                  (select count(*)::int from auth.insighter_mail_outbox m
                    where m.user_id = u.id and m.purpose = 'signup') as mails
             from auth.users u`
        )
      );
      expect(users.rows.length).toBeGreaterThanOrEqual(succeeded.length + 1);
      for (const row of users.rows) {
        expect(row).toEqual({
          email: row.email,
          profile: true,
          token: true,
          mails: 1
        });
      }
      const emails = new Set(users.rows.map(r => r.email));
      for (const email of succeeded) {
        expect(emails.has(email)).toBe(true);
      }
      const orphans = await db.asService(tx =>
        tx.query<{ n: number }>(
          `select (select count(*)::int from public.profiles p
                    where not exists (select 1 from auth.users u where u.id = p.id))
                + (select count(*)::int from auth.insighter_mail_outbox m where m.user_id is null)
                  as n`
        )
      );
      expect(orphans.rows[0].n).toBe(0);
    } finally {
      await db.close();
    }
  }, 120_000);
});

async function anonKeyOf(url: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/config`);
  return ((await res.json()) as { supabase_anon_key: string })
    .supabase_anon_key;
}
