/**
 * Issue 7 acceptance: in "Credit Risk Alpha", version 1 of the german_credit
 * model is deployed from the Studio's Deployment section → ready → a request
 * through /api/v1/predict/credit-risk-alpha returns predictions for 5 rows;
 * version 2 is deployed while a load runs → no request fails, and the
 * endpoint answers with version 2. All of it real: training jobs (started
 * through the REST API as a script would — the training form has its own
 * test), the sidecar's scoring workers, events in Chromium. The API key the
 * UI creates (shown once) is the load's credential.
 */
import { readFileSync } from 'node:fs';
import { eventsFlowing, expect, logIn, runCurlExample, test } from '../fixtures';
import {
  bearer,
  callSidecar,
  creditProject,
  GERMAN_CREDIT,
  signUp,
  trainModel
} from '../sidecar';

test.use({ labEnv: { INSIGHTER_AUTH_AUTOCONFIRM: 'true' } });


/** The first `n` rows of german_credit without the target, as `dataframe_split`. */
function creditRows(n: number): { columns: string[]; data: unknown[][] } {
  const lines = readFileSync(GERMAN_CREDIT, 'utf8').trim().split('\n');
  const header = JSON.parse(`[${lines[0]}]`) as string[];
  const target = header.indexOf('Class');
  const data = lines.slice(1, n + 1).map(line => {
    const values = JSON.parse(`[${line}]`) as unknown[];
    values.splice(target, 1);
    return values;
  });
  header.splice(target, 1);
  return { columns: header, data };
}

test('deploys version 1 from the Studio, predicts 5 rows, and switches to version 2 under load without a failed request', async ({
  page,
  lab,
  consoleErrors
}) => {
  test.setTimeout(420_000);
  const ada = await signUp(lab, 'ada', 'Ada Lovelace');
  const auth = bearer(ada);
  const credit = await creditProject(lab, auth, 'Credit Risk Alpha');
  const { project } = credit;
  expect(project.slug).toBe('credit-risk-alpha');
  expect(await trainModel(lab, auth, credit, { n_estimators: 50, max_depth: 3 })).toBe(1);

  // Ada logs in and opens the project's Deployment section by its command.
  await logIn(page, lab, ada, 'deploy');
  await eventsFlowing(page);
  await page.evaluate(
    id => (window as any).jupyterapp.commands.execute('insighter:open-deployments', { id }),
    project.id
  );
  const section = page.locator('.jp-insighter-Deployment').filter({ visible: true });
  await expect(section.getByTestId('insighter-deployment-none')).toBeVisible();

  // Version 1 → Deploy → ready, told by the sidecar's events.
  await expect(section.getByTestId('insighter-deploy-version')).toHaveValue('1');
  await section.getByTestId('insighter-deploy-button').click();
  const status = section.getByTestId('insighter-deployment-status');
  await expect(status).toHaveAttribute('data-status', 'ready', { timeout: 120_000 });
  await expect(status).toHaveAttribute('data-version', '1');
  await expect(section.getByTestId('insighter-deployment-url')).toHaveText(/\/api\/v1\/predict\/credit-risk-alpha$/);
  await expect(section.getByTestId('insighter-curl')).toContainText('"dataframe_split"');

  // An API key, shown once.
  await section.getByTestId('insighter-key-name').fill('load test');
  await section.getByTestId('insighter-key-create').click();
  const key = (await section.getByTestId('insighter-new-key-value').textContent()) ?? '';
  expect(key).toMatch(/^ink_/);
  await expect(section.getByTestId('insighter-keys').locator('tbody tr')).toHaveCount(1);
  await expect(section.getByTestId('insighter-curl')).toContainText(key);
  // The example as shown, pasted into a shell: it answers with the key alone.
  const fromShell = await runCurlExample(section);
  expect(fromShell.predictions).toHaveLength(1);

  // 5 rows through /api/v1/predict/credit-risk-alpha: on the sidecar's port, and from the page through the proxy.
  const rows = JSON.stringify({ dataframe_split: creditRows(5) });
  const predict = () =>
    callSidecar<{ predictions: { prediction: string; probabilities: Record<string, number> }[] }>(
      lab,
      'POST',
      'api/v1/predict/credit-risk-alpha',
      { 'X-API-Key': key, 'Content-Type': 'application/json' },
      rows
    );
  const first = await predict();
  expect(first.status).toBe(200);
  expect(first.body.predictions).toHaveLength(5);
  for (const p of first.body.predictions) {
    expect(['Bad', 'Good']).toContain(p.prediction);
    expect(p.probabilities.Bad + p.probabilities.Good).toBeCloseTo(1, 5);
  }
  const endpoint = (await section.getByTestId('insighter-deployment-url').textContent()) ?? '';
  // Jupyter's proxy wants its XSRF token on a browser's POST, as every request of the app sends it.
  const viaProxy = await page.evaluate(
    async ({ url, body, apiKey }) => {
      const xsrf = document.cookie.match(/(?:^|; )_xsrf=([^;]*)/)?.[1] ?? '';
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-API-Key': apiKey, 'X-XSRFToken': decodeURIComponent(xsrf) },
        body
      });
      return { status: res.status, body: await res.json() };
    },
    { url: endpoint, body: rows, apiKey: key }
  );
  expect(viaProxy.status).toBe(200);
  expect(viaProxy.body).toEqual(first.body);

  // Version 2 is trained, appears in the picker, and is deployed while a load runs.
  expect(await trainModel(lab, auth, credit, { n_estimators: 80, max_depth: 4 })).toBe(2);
  await expect(section.getByTestId('insighter-deploy-version').locator('option')).toHaveCount(2);
  const statuses: number[] = [];
  const answers: string[] = [];
  let loading = true;
  const client = async () => {
    while (loading) {
      const res = await predict();
      statuses.push(res.status);
      answers.push(JSON.stringify(res.body));
    }
  };
  const load = Array.from({ length: 4 }, client);
  await expect.poll(() => statuses.length).toBeGreaterThan(10);
  await section.getByTestId('insighter-deploy-version').selectOption('2');
  await section.getByTestId('insighter-deploy-button').click();
  await expect(section.getByTestId('insighter-deployment-upcoming')).toBeVisible();
  await expect(status).toHaveAttribute('data-version', '2', { timeout: 120_000 });
  await expect(status).toHaveAttribute('data-status', 'ready');
  const afterSwitch = statuses.length;
  await expect.poll(() => statuses.length).toBeGreaterThan(afterSwitch + 20);
  loading = false;
  await Promise.all(load);
  expect(statuses.filter(s => s !== 200)).toEqual([]);
  // The answers moved from version 1's to version 2's.
  expect(answers[0]).toBe(JSON.stringify(first.body));
  expect(answers[answers.length - 1]).not.toBe(JSON.stringify(first.body));

  // The history has both; the metrics counted the load.
  const history = section.getByTestId('insighter-deployment-history').locator('tbody tr');
  await expect(history).toHaveCount(2);
  await expect(history.first()).toHaveAttribute('data-status', 'ready');
  await expect(history.nth(1)).toHaveAttribute('data-status', 'stopped');
  await expect
    .poll(async () => Number(await section.locator('[data-metric="requests"] dd').textContent()), { timeout: 30_000 })
    .toBeGreaterThan(0);
  expect(consoleErrors).toEqual([]);
});
