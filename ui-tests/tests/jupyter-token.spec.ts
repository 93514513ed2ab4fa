/**
 * Insighter Lab as `npm start` runs it: Jupyter demands its token, so the
 * page authenticates to Jupyter with `Authorization: token …` and the user's
 * own access token must still reach the sidecar through the proxy.
 */
import { randomBytes } from 'node:crypto';
import { expect, test } from '../fixtures';

test.use({ labToken: randomBytes(24).toString('hex'), labEnv: { INSIGHTER_AUTH_AUTOCONFIRM: 'true' } });

test('with a Jupyter token, a new user signs up and the dashboard loads their projects', async ({
  page,
  lab,
  openLab,
  consoleErrors
}) => {
  expect(lab.token, 'Jupyter demands a token').not.toBe('');
  await openLab();
  await expect(page.getByTestId('insighter-login-email')).toBeVisible();
  expect(consoleErrors, 'browser console errors during load').toEqual([]);

  await page.getByTestId('insighter-show-signup').click();
  await page.getByTestId('insighter-signup-name').fill('Grace Hopper');
  await page.getByTestId('insighter-signup-email').fill(`grace.${Date.now()}@example.com`);
  await page.getByTestId('insighter-signup-password').fill('cobol1959');
  await page.getByTestId('insighter-signup-confirm').fill('cobol1959');
  await page.getByTestId('insighter-signup-submit').click();

  await expect(page.getByTestId('insighter-welcome')).toHaveText('Welcome back, Grace');
  // The project list is an authenticated sidecar call: it answers only if the
  // user's bearer token got through the Jupyter-token-authenticated proxy.
  await expect(page.getByTestId('insighter-empty-state')).toBeVisible();
  await expect(page.getByTestId('insighter-empty-state')).toContainText('Create Your First Project');
  expect(consoleErrors).toEqual([]);
});
