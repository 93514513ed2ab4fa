/**
 * Insighter Lab as `npm start` runs it: Jupyter demands its token, so the
 * page authenticates to Jupyter with `Authorization: token …` and the user's
 * own access token must still reach the sidecar through the proxy; and the
 * endpoint the Deployment section shows answers a shell that has only the
 * API key, not Jupyter's token.
 */
import { randomBytes } from 'node:crypto';
import { eventsFlowing, expect, logIn, runCurlExample, test } from '../fixtures';
import { bearer, creditProject, signUp, trainModel } from '../sidecar';

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

test("with a Jupyter token, the Deployment section's endpoint and curl example work verbatim from a shell with the API key alone", async ({
  page,
  lab,
  consoleErrors
}) => {
  test.setTimeout(300_000);
  const linus = await signUp(lab, 'linus', 'Linus Torvalds');
  const credit = await creditProject(lab, bearer(linus), 'Curl Check');
  expect(await trainModel(lab, bearer(linus), credit, { n_estimators: 20, max_depth: 3 })).toBe(1);

  await logIn(page, lab, linus, 'curl');
  await eventsFlowing(page);
  await page.evaluate(
    id => (window as any).jupyterapp.commands.execute('insighter:open-deployments', { id }),
    credit.project.id
  );
  const section = page.locator('.jp-insighter-Deployment').filter({ visible: true });
  await section.getByTestId('insighter-deploy-button').click();
  await expect(section.getByTestId('insighter-deployment-status')).toHaveAttribute('data-status', 'ready', {
    timeout: 120_000
  });
  // The lab's own address, the one this page came from: no other port to open.
  await expect(section.getByTestId('insighter-deployment-url')).toHaveText(
    `${lab.url}insighter/api/v1/predict/curl-check`
  );
  await section.getByTestId('insighter-key-name').fill('shell');
  await section.getByTestId('insighter-key-create').click();
  const key = (await section.getByTestId('insighter-new-key-value').textContent()) ?? '';
  await expect(section.getByTestId('insighter-curl')).toContainText(key);

  const fromShell = await runCurlExample(section);
  expect(fromShell.predictions).toHaveLength(1);
  expect(['Bad', 'Good']).toContain(fromShell.predictions[0].prediction);
  expect(consoleErrors).toEqual([]);
});
