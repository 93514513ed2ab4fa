/**
 * Issue 2 acceptance: Insighter Lab loads cleanly with the Insighter sidebar
 * and the status item fed by the sidecar, runs a real kernel with Debian's
 * data-science stack, and survives the sidecar being killed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '../fixtures';

test('the app loads with the Insighter sidebar and runs a notebook cell', async ({
  page,
  openLab,
  consoleErrors
}) => {
  await openLab();
  await expect(page.locator('#jp-insighter-sidebar')).toBeAttached();
  const status = page.locator('#jp-insighter-status');
  await expect(status).toHaveAttribute('data-state', 'OPTIMAL');
  await expect(status).toContainText('OPTIMAL');
  expect(consoleErrors, 'browser console errors during load').toEqual([]);

  await page.evaluate(() =>
    (window as any).jupyterapp.commands.execute('notebook:create-new', { kernelName: 'python3' })
  );
  const editor = page.locator('.jp-NotebookPanel:visible .jp-Cell .cm-content').first();
  await editor.click();
  await page.keyboard.type('import pandas, sklearn, xgboost; print(1+1)');
  await page.keyboard.press('Shift+Enter');
  const output = page.locator('.jp-NotebookPanel:visible .jp-OutputArea-output').first();
  await expect(output).toHaveText('2', { timeout: 60_000 });
  expect(consoleErrors).toEqual([]);
});

test('killing the sidecar shows the outage, then the recovery', async ({ page, openLab, lab }) => {
  await openLab();
  // Check every second (a user setting; the default is 5 s) so the outage
  // window — the supervisor restarts the sidecar within a few seconds — is seen.
  const xsrf = (await page.context().cookies()).find(c => c.name === '_xsrf')?.value ?? '';
  const saved = await page.request.put(new URL('lab/api/settings/@insighter/shell:status', lab.url).toString(), {
    headers: { 'X-XSRFToken': xsrf },
    data: { raw: JSON.stringify({ pollInterval: 1000 }) }
  });
  expect(saved.status()).toBe(204);
  await openLab();
  const status = page.locator('#jp-insighter-status');
  await expect(status).toHaveAttribute('data-state', 'OPTIMAL');

  const pidFile = path.join(lab.dataDir, 'run', 'sidecar.pid');
  const before = Number(readFileSync(pidFile, 'utf8').trim());
  process.kill(before, 'SIGKILL');

  await expect(status).toHaveAttribute('data-state', 'DOWN', { timeout: 15_000 });
  await expect(status).toHaveAttribute('data-state', 'OPTIMAL', { timeout: 60_000 });
  const after = Number(readFileSync(pidFile, 'utf8').trim());
  expect(after).not.toBe(before);
});
