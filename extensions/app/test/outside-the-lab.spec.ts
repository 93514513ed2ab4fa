/**
 * What the lab advertises works from outside it: a real Insighter Lab
 * (Jupyter with its token, the real sidecar), asked as a Node script asks.
 * `GET /api/v1/config` on the sidecar's own port names that port, and
 * supabase-js signs up and in there with nothing but the anon key; through
 * the proxy it names the proxy; the confirmation link from the outbox opens
 * with Jupyter's `Authorization: token` header.
 */
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';

import { RunningLab, startLab } from './support/lab';

let lab: RunningLab;

beforeAll(async () => {
  lab = await startLab({ env: { INSIGHTER_AUTH_AUTOCONFIRM: 'false' } });
});

afterAll(async () => {
  await lab?.stop();
});

interface IPublicConfig {
  supabase_url: string;
  supabase_anon_key: string;
}

const PASSWORD = 'outside1843';

it("advertises the sidecar's own port to a script there, and supabase-js signs up and in with it", async () => {
  const direct = `http://127.0.0.1:${lab.apiPort}`;
  const config = (await (
    await fetch(`${direct}/api/v1/config`)
  ).json()) as IPublicConfig;
  expect(config.supabase_url).toBe(direct);

  const supabase = createClient(config.supabase_url, config.supabase_anon_key, {
    auth: {
      persistSession: false,
      autoRefreshToken: false,
      detectSessionInUrl: false
    },
    realtime: { transport: WebSocket as never }
  });
  const email = `outside.${Date.now().toString(36)}@example.com`;
  const signUp = await supabase.auth.signUp({
    email,
    password: PASSWORD,
    options: { data: { full_name: 'Out Side' } }
  });
  expect(signUp.error).toBeNull();
  expect(signUp.data.user?.email).toBe(email);
  expect(signUp.data.session).toBeNull(); // a confirmation mail went out

  // The owner reads the mail in the lab; its link leads through the proxy
  // and opens with Jupyter's token in its header.
  const outbox = (await (
    await lab.fetch('insighter/api/v1/outbox')
  ).json()) as { messages: { id: string; to: string }[] };
  const listed = outbox.messages.find(m => m.to === email);
  expect(listed).toBeDefined();
  const mail = (await (
    await lab.fetch(`insighter/api/v1/outbox/${listed!.id}`)
  ).json()) as { link: string };
  const link = new URL(mail.link);
  expect(`${link.origin}${link.pathname}`).toBe(
    `${lab.url}insighter/auth/v1/verify`
  );
  expect(link.searchParams.has('token')).toBe(false);
  const opened = await fetch(link, {
    redirect: 'manual',
    headers: { Authorization: `token ${lab.token}` }
  });
  expect(opened.status).toBe(303);
  expect(opened.headers.get('location')).toMatch(/#access_token=/);

  const signIn = await supabase.auth.signInWithPassword({
    email,
    password: PASSWORD
  });
  expect(signIn.error).toBeNull();
  const me = await supabase.auth.getUser(signIn.data.session!.access_token);
  expect(me.data.user?.email).toBe(email);
});

it('advertises the proxy to whoever asks through it', async () => {
  const config = (await (
    await lab.fetch('insighter/api/v1/config')
  ).json()) as IPublicConfig;
  expect(config.supabase_url).toBe(`${lab.url}insighter`);
});
