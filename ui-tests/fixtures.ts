/**
 * Fixtures for the browser tests: a real Insighter Lab (Python server, real
 * kernels, the real sidecar) per worker, started without a token on free
 * ports with a fresh data dir, and a `page` that records browser console
 * errors so a test can insist there were none.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, Locator, Page, test as base } from '@playwright/test';
import { RunningLab, startLab } from '../extensions/app/test/support/lab';
import { IAccount, PASSWORD } from './sidecar';

export interface LabFixtures {
  /** Console errors and uncaught page errors seen so far in this test. */
  consoleErrors: string[];
  /** Opens Insighter Lab at `path` (default `lab`) and waits until it is restored. */
  openLab: (path?: string) => Promise<void>;
}

export interface LabWorkerFixtures {
  lab: RunningLab;
  /** Extra environment for the lab server and its sidecar (a worker option). */
  labEnv: Record<string, string>;
  /**
   * Jupyter's token (a worker option): `null` runs without one, as most
   * tests do; a string makes Jupyter demand it, as `npm start` does.
   */
  labToken: string | null;
}

export const test = base.extend<LabFixtures, LabWorkerFixtures>({
  labEnv: [{ INSIGHTER_AUTH_AUTOCONFIRM: 'false' }, { scope: 'worker', option: true }],
  labToken: [null, { scope: 'worker', option: true }],
  lab: [
    async ({ labEnv, labToken }, use) => {
      const lab = await startLab({ token: labToken, env: labEnv });
      try {
        await use(lab);
      } finally {
        await lab.stop();
      }
    },
    { scope: 'worker', timeout: 120_000 }
  ],
  consoleErrors: async ({ page }, use) => {
    const errors: string[] = [];
    page.on('console', msg => {
      if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
    });
    page.on('pageerror', err => errors.push(`page error: ${err.message}`));
    await use(errors);
  },
  openLab: async ({ page, lab, consoleErrors }, use) => {
    void consoleErrors; // attach the listeners before the first navigation
    await use(async (path = 'lab') => {
      const url = new URL(path, lab.url);
      if (lab.token) url.searchParams.set('token', lab.token);
      await page.goto(url.toString());
      await waitForRestored(page);
    });
  }
});

/** Resolves when JupyterLab has restored its layout (window.jupyterapp is set by the app). */
export async function waitForRestored(page: Page): Promise<void> {
  await page.waitForFunction(() => (window as any).jupyterapp !== undefined, undefined, {
    timeout: 60_000
  });
  await page.evaluate(() => (window as any).jupyterapp.restored);
}

/**
 * Opens the lab on `page` in the person's own workspace (people share this
 * one Jupyter server; with JupyterHub each would have their own) and logs in
 * on the home's form.
 */
export async function logIn(
  page: Page,
  lab: RunningLab,
  account: IAccount,
  workspace = account.email.split('.')[0]
): Promise<void> {
  const url = new URL(`lab/workspaces/${workspace}`, lab.url);
  if (lab.token) url.searchParams.set('token', lab.token);
  await page.goto(url.toString());
  await waitForRestored(page);
  await page.getByTestId('insighter-login-email').fill(account.email);
  await page.getByTestId('insighter-login-password').fill(PASSWORD);
  await page.getByTestId('insighter-login-submit').click();
  const firstName = account.fullName.split(' ')[0];
  await expect(page.getByTestId('insighter-welcome')).toHaveText(
    `Welcome back, ${firstName}`
  );
}

/** Resolves once the page's event stream is open, i.e. live events reach it. */
export async function eventsFlowing(page: Page): Promise<void> {
  await expect(page.locator('body')).toHaveAttribute(
    'data-insighter-event-stream',
    'open'
  );
}

/**
 * Runs the curl example a Deployment section shows (`insighter-curl`),
 * verbatim, in a shell as someone who pasted it into a terminal would, and
 * answers what it printed, decoded.
 */
export async function runCurlExample(section: Locator): Promise<any> {
  const command = (await section.getByTestId('insighter-curl').textContent()) ?? '';
  expect(command).toMatch(/^curl /);
  const { stdout } = await promisify(execFile)('sh', ['-c', command], { timeout: 60_000 });
  try {
    return JSON.parse(stdout);
  } catch {
    throw new Error(`The curl example printed no JSON:\n${stdout}`);
  }
}

export { expect };
