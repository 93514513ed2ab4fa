/**
 * Fixtures for the browser tests: a real Insighter Lab (Python server, real
 * kernels, the real sidecar) per worker, started without a token on free
 * ports with a fresh data dir, and a `page` that records browser console
 * errors so a test can insist there were none.
 */
import { expect, Page, test as base } from '@playwright/test';
import { RunningLab, startLab } from '../extensions/app/test/support/lab';

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
}

export const test = base.extend<LabFixtures, LabWorkerFixtures>({
  labEnv: [{ INSIGHTER_AUTH_AUTOCONFIRM: 'false' }, { scope: 'worker', option: true }],
  lab: [
    async ({ labEnv }, use) => {
      const lab = await startLab({ token: null, env: labEnv });
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
      await page.goto(new URL(path, lab.url).toString());
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

export { expect };
