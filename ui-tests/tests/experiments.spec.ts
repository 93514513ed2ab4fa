/**
 * Issue 6 acceptance: in "Credit Risk Alpha", XGBoost is trained on
 * german_credit (target `Class`) from the Experiments form; the Tool Monitor
 * shows the job's log lines and its validation AUC curve growing while the
 * job runs; accuracy and AUC are shown once it ends; the project's registered
 * model has version 1 with its artifacts and the dataset as its input; a
 * second run is compared with the first (overlaid curves, parameter diff). All of
 * it real: the sidecar's jobs, a training process, MLflow-compatible tracking
 * and the bus's live events in Chromium. The account, the project and the
 * upload are made through the REST API as a script would; the catalog's own
 * upload UI has its tests in data-catalog.spec.ts.
 */
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import type { RunningLab } from '../../extensions/app/test/support/lab';
import { expect, test, waitForRestored } from '../fixtures';
import { GERMAN_CREDIT } from '../sidecar';

test.use({ labEnv: { INSIGHTER_AUTH_AUTOCONFIRM: 'true' } });

const PASSWORD = 'engine1843';

/** The sidecar on its own port, called as scripts call it. */
async function sidecar<T>(
  lab: RunningLab,
  method: string,
  relative: string,
  headers: Record<string, string>,
  body?: BodyInit
): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${lab.apiPort}/${relative}`, {
    method,
    headers,
    body
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(
      `${method} ${relative} answered ${response.status}: ${text}`
    );
  }
  return JSON.parse(text) as T;
}

/**
 * Records, in the page, every value the Monitor's validation AUC chart shows
 * as its point count, with the job's status at that moment: a curve that
 * grows while the job runs leaves several rising counts marked `running`.
 */
async function recordAucCurve(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: { points: number; status: string | null }[] = [];
    (window as any).__insighterAucCurve = seen;
    const sample = () => {
      const chart = document.querySelector(
        '.jp-insighter-Monitor .jp-insighter-metric-chart[data-metric="validation_auc"]'
      );
      if (!chart) {
        return;
      }
      const points = Number(chart.getAttribute('data-points'));
      const status =
        document
          .querySelector('.jp-insighter-Monitor .jp-insighter-monitor-detail')
          ?.getAttribute('data-status') ?? null;
      const last = seen[seen.length - 1];
      if (!last || last.points !== points || last.status !== status) {
        seen.push({ points, status });
      }
    };
    new MutationObserver(sample).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['data-points', 'data-status']
    });
  });
}

test('XGBoost trained from the form streams into the Tool Monitor, registers version 1, and compares with a second run', async ({
  page,
  lab,
  consoleErrors
}) => {
  test.setTimeout(300_000);
  const { supabase_anon_key: anonKey } = await sidecar<{
    supabase_anon_key: string;
  }>(lab, 'GET', 'api/v1/config', {});
  const email = `ada.${Date.now()}@example.com`;
  const { access_token: token } = await sidecar<{ access_token: string }>(
    lab,
    'POST',
    'auth/v1/signup',
    { apikey: anonKey, 'Content-Type': 'application/json' },
    JSON.stringify({
      email,
      password: PASSWORD,
      data: { full_name: 'Ada Lovelace' }
    })
  );
  const bearer = { Authorization: `Bearer ${token}` };
  const project = await sidecar<{ id: string; slug: string }>(
    lab,
    'POST',
    'api/v1/projects',
    { ...bearer, 'Content-Type': 'application/json' },
    JSON.stringify({
      name: 'Credit Risk Alpha',
      description: 'Scores loan applications.',
      visibility: 'private'
    })
  );
  expect(project.slug).toBe('credit-risk-alpha');
  const query = new URLSearchParams({
    project_id: project.id,
    name: 'german_credit'
  });
  const dataset = await sidecar<{ id: string }>(
    lab,
    'POST',
    `api/v1/datasets?${query}`,
    { ...bearer, 'Content-Type': 'text/csv' },
    readFileSync(GERMAN_CREDIT)
  );
  await expect
    .poll(
      async () =>
        (
          await sidecar<{ status: string }>(
            lab,
            'GET',
            `api/v1/datasets/${dataset.id}`,
            bearer
          )
        ).status,
      { timeout: 60_000 }
    )
    .toBe('ready');

  // Ada logs in and opens the project's Studio.
  await page.goto(new URL('lab/workspaces/ada', lab.url).toString());
  await waitForRestored(page);
  await page.getByTestId('insighter-login-email').fill(email);
  await page.getByTestId('insighter-login-password').fill(PASSWORD);
  await page.getByTestId('insighter-login-submit').click();
  await expect(page.getByTestId('insighter-welcome')).toHaveText(
    'Welcome back, Ada'
  );
  await expect(page.locator('body')).toHaveAttribute(
    'data-insighter-event-stream',
    'open'
  );
  await page.evaluate(
    id =>
      (window as any).jupyterapp.commands.execute('insighter:open-studio', {
        id
      }),
    project.id
  );
  const studio = page.locator('.jp-insighter-Studio').filter({ visible: true });
  await expect(studio.getByTestId('insighter-studio-name')).toHaveText(
    'Credit Risk Alpha'
  );

  // The Monitor is open before the job starts, so it hears all of it.
  await studio.getByTestId('insighter-studio-tab-monitor').click();
  await expect(studio.getByTestId('insighter-monitor-empty')).toBeVisible();
  await recordAucCurve(page);

  // Experiments: XGBoost with its defaults, german_credit, target Class.
  await studio.getByTestId('insighter-studio-tab-experiments').click();
  const form = studio.locator('.jp-insighter-train-form');
  await expect(form.getByTestId('insighter-train-algorithm')).toHaveValue(
    'xgboost'
  );
  await expect(form.locator('[data-param="max_depth"]')).toHaveValue('6');
  await expect(
    form.getByTestId('insighter-train-dataset').locator('option:checked')
  ).toHaveText('german_credit (v1)');
  // The form checks the server's bounds before anything is sent.
  await form.locator('[data-param="max_depth"]').fill('25');
  await expect(
    form.locator('.jp-insighter-train-field-error[data-field="max_depth"]')
  ).toHaveText('max_depth must be between 1 and 20.');
  await form.locator('[data-param="max_depth"]').fill('4');
  // Enough rounds that the curve is seen growing in several batches.
  await form.locator('[data-param="n_estimators"]').fill('600');
  await form.getByTestId('insighter-train-target').selectOption('Class');
  // A regressor on a text target: the server's refusal is shown by the form.
  await form.getByTestId('insighter-train-task').selectOption('regression');
  await form.getByTestId('insighter-train-submit').click();
  await expect(form.locator('.jp-insighter-train-error')).toContainText(
    'a regressor needs numbers'
  );
  await expect(form.getByTestId('insighter-train-started')).toHaveCount(0);
  await form.getByTestId('insighter-train-task').selectOption('classification');
  await expect(form.locator('.jp-insighter-train-error')).toHaveCount(0);
  await form.getByTestId('insighter-train-submit').click();
  const started = form.getByTestId('insighter-train-started');
  await expect(started).toBeVisible();
  await expect(form.locator('.jp-insighter-train-error')).toHaveCount(0);
  const jobId = await started.getAttribute('data-job-id');

  // The Tool Monitor follows the new job: log lines and a growing AUC curve.
  await studio.getByTestId('insighter-studio-tab-monitor').click();
  const monitor = studio.locator('.jp-insighter-Monitor');
  await expect(
    monitor.locator(`.jp-insighter-monitor-job[data-job-id="${jobId}"]`)
  ).toBeVisible();
  const detail = monitor.locator(
    `.jp-insighter-monitor-detail[data-job-id="${jobId}"]`
  );
  await expect(detail).toBeVisible();
  await expect(
    detail.locator('.jp-insighter-monitor-log-line').first()
  ).toBeVisible();
  await expect(detail).toHaveAttribute('data-status', 'succeeded', {
    timeout: 180_000
  });
  const curve: { points: number; status: string | null }[] =
    await page.evaluate(() => (window as any).__insighterAucCurve);
  const whileRunning = curve
    .filter(sample => sample.status === 'running' && sample.points > 0)
    .map(sample => sample.points);
  // Seen at least three times during the run, each time with more points.
  expect(new Set(whileRunning).size).toBeGreaterThanOrEqual(3);
  for (let i = 1; i < whileRunning.length; i++) {
    expect(whileRunning[i]).toBeGreaterThanOrEqual(whileRunning[i - 1]);
  }
  const chart = detail.locator(
    '.jp-insighter-metric-chart[data-metric="validation_auc"]'
  );
  const finalPoints = Number(await chart.getAttribute('data-points'));
  expect(finalPoints).toBeGreaterThanOrEqual(Math.max(...whileRunning));
  expect(finalPoints).toBeGreaterThan(10);

  // The log is searchable.
  const lines = detail.locator('.jp-insighter-monitor-log-line');
  const allLines = await lines.count();
  expect(allLines).toBeGreaterThan(0);
  await detail.locator('.jp-insighter-monitor-log-search').fill('auc');
  await expect.poll(async () => lines.count()).toBeLessThan(allLines);
  for (const text of await lines.allTextContents()) {
    expect(text.toLowerCase()).toContain('auc');
  }
  await detail.locator('.jp-insighter-monitor-log-search').fill('');

  // Accuracy and AUC, in the Monitor and in the run's detail.
  for (const key of ['accuracy', 'auc']) {
    await expect(detail.locator(`[data-metric-value="${key}"]`)).toHaveText(
      /^0\.\d+$/
    );
  }
  await studio.getByTestId('insighter-studio-tab-experiments').click();
  const runDetail = studio.locator('.jp-insighter-run-detail');
  await expect(runDetail).toHaveAttribute('data-status', 'succeeded');
  for (const key of ['accuracy', 'auc']) {
    await expect(runDetail.locator(`[data-metric-value="${key}"]`)).toHaveText(
      /^0\.\d+$/
    );
  }
  const runId = await runDetail.getAttribute('data-run-id');
  const row = studio.locator(
    `.jp-insighter-runs-table tr[data-run-id="${runId}"]`
  );
  await expect(row.locator('[data-column="status"]')).toHaveText('Succeeded');
  await expect(row.locator('[data-column="algorithm"]')).toHaveText('XGBoost');
  await expect(row.locator('[data-column="auc"]')).toHaveText(/^0\.\d+$/);

  // The registry: version 1 of the project's model, from this run and dataset.
  await studio.getByTestId('insighter-studio-tab-models').click();
  const version = studio.locator(
    '.jp-insighter-model-version[data-model="credit-risk-alpha"][data-version="1"]'
  );
  await expect(version).toBeVisible();
  await expect(version).toHaveAttribute('data-run-id', runId!);
  await expect(version.locator('[data-column="dataset"]')).toContainText(
    'german_credit'
  );
  await version.click();
  const versionDetail = studio.locator(
    '.jp-insighter-model-version-detail[data-version="1"]'
  );
  await expect(
    versionDetail.locator('.jp-insighter-artifact').first()
  ).toBeVisible();
  await expect(versionDetail.locator('[data-metric-value="auc"]')).toHaveText(
    /^0\.\d+$/
  );
  // Artifacts download through the sidecar with the person's session.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    versionDetail
      .locator('.jp-insighter-artifact[data-artifact="model/MLmodel"]')
      .getByRole('button')
      .click()
  ]);
  expect(download.suggestedFilename()).toBe('MLmodel');
  expect(readFileSync(await download.path(), 'utf8')).toContain('flavors');
  // Aliases: champion points at version 1, then is taken away.
  await versionDetail.getByTestId('insighter-alias-set').click();
  const champion = version.locator(
    '.jp-insighter-alias[data-alias="champion"]'
  );
  await expect(champion).toBeVisible();
  await champion.getByRole('button').click();
  await expect(champion).toHaveCount(0);

  // A second, smaller run; the two compared: curves overlaid, parameters diffed.
  await studio.getByTestId('insighter-studio-tab-experiments').click();
  await form.locator('[data-param="n_estimators"]').fill('40');
  await form.locator('[data-param="max_depth"]').fill('3');
  await form.getByTestId('insighter-train-submit').click();
  const rows = studio.locator('.jp-insighter-runs-table tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(rows.locator('[data-column="status"]')).toHaveText(
    ['Succeeded', 'Succeeded'],
    { timeout: 120_000 }
  );
  for (const checkbox of await rows.locator('input[type="checkbox"]').all()) {
    await checkbox.check();
  }
  await studio.getByTestId('insighter-runs-compare').click();
  const compare = studio.locator('.jp-insighter-compare');
  await expect(compare.getByTestId('insighter-compare-metric')).toHaveValue(
    'validation_auc'
  );
  const overlay = compare.locator(
    '.jp-insighter-metric-chart[data-metric="validation_auc"]'
  );
  await expect(overlay.locator('g[data-series]')).toHaveCount(2);
  // 600 rounds and 40 rounds, drawn together.
  await expect(overlay).toHaveAttribute('data-points', '640');
  await expect(compare.locator('tr[data-param="max_depth"]')).toHaveAttribute(
    'data-differs',
    'true'
  );
  await expect(
    compare.locator('tr[data-param="n_estimators"]')
  ).toHaveAttribute('data-differs', 'true');
  await expect(
    compare.locator('tr[data-param="learning_rate"]')
  ).toHaveAttribute('data-differs', 'false');
  // The registry lists the second version as it is registered.
  await studio.getByTestId('insighter-studio-tab-models').click();
  await expect(
    studio.locator('.jp-insighter-model-version[data-version="2"]')
  ).toBeVisible();

  expect(
    consoleErrors.filter(error => error.startsWith('page error:')),
    'uncaught errors in the page'
  ).toEqual([]);
});
