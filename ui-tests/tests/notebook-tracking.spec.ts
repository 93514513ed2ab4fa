/**
 * Issue 6, item 6: a notebook in the project's folder logs a run with
 * `insighter.tracking` on a real kernel, and the run shows up while it runs,
 * with no reload: its row in the Studio's Experiments section (status, AUC
 * growing step by step), then in the Tool Monitor beside the jobs (its AUC
 * curve growing), and both say it finished. The notebook is split beside
 * the Studio so both are seen at once. The account and project are made
 * through the REST API as a script would; the sidecar's MLflow side and the
 * helper itself have their tests in the app's kernel-tracking.spec.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Page } from '@playwright/test';
import { eventsFlowing, expect, logIn, test } from '../fixtures';
import { bearer, sidecar, signUp } from '../sidecar';

test.use({ labEnv: { INSIGHTER_AUTH_AUTOCONFIRM: 'true' } });
// Wide enough for the Studio and the notebook side by side.
test.use({ viewport: { width: 1900, height: 1000 } });

const STEPS = 12;

/** The notebook's one cell: an AUC logged per step, a little apart, as an epoch loop would. */
const CELL = [
  'import time',
  'import insighter',
  '',
  'with insighter.tracking.start_run(run_name="notebook sweep") as run:',
  '    insighter.tracking.log_params({"learning_rate": 0.1, "epochs": ' +
    STEPS +
    '})',
  `    for step in range(${STEPS}):`,
  '        insighter.tracking.log_metric("auc", 0.5 + step * 0.04, step=step)',
  '        time.sleep(1)',
  'print("run", run.info.status)'
].join('\n');

/**
 * Records, in the page, what the Experiments row of the run and the
 * Monitor's AUC chart show each time they change, with the run's status
 * there at that moment: live updates leave several values marked running.
 */
async function recordRunViews(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: { where: string; value: string; status: string | null }[] = [];
    (window as any).__insighterNotebookRun = seen;
    const push = (where: string, value: string, status: string | null) => {
      const last = seen.filter(s => s.where === where).pop();
      if (!last || last.value !== value || last.status !== status) {
        seen.push({ where, value, status });
      }
    };
    const sample = () => {
      const row = document.querySelector(
        '.jp-insighter-Studio tr[data-run-id][data-status]'
      );
      if (row) {
        push(
          'experiments',
          row.querySelector('td[data-column="auc"]')?.textContent ?? '',
          row.getAttribute('data-status')
        );
      }
      const chart = document.querySelector(
        '.jp-insighter-Monitor .jp-insighter-metric-chart[data-metric="auc"]'
      );
      if (chart) {
        push(
          'monitor',
          chart.getAttribute('data-points') ?? '',
          document
            .querySelector('.jp-insighter-Monitor .jp-insighter-monitor-detail')
            ?.getAttribute('data-status') ?? null
        );
      }
    };
    new MutationObserver(sample).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
      attributeFilter: ['data-points', 'data-status']
    });
    // Set once: still there at the end means the page never reloaded.
    (window as any).__insighterNoReload = true;
  });
}

function samples(
  page: Page,
  where: string
): Promise<{ value: string; status: string | null }[]> {
  return page.evaluate(
    w =>
      (window as any).__insighterNotebookRun.filter(
        (s: { where: string }) => s.where === w
      ),
    where
  );
}

test('a run logged from a notebook shows live in Experiments and the Tool Monitor', async ({
  page,
  lab,
  consoleErrors
}) => {
  test.setTimeout(240_000);
  const grace = await signUp(lab, 'grace', 'Grace Hopper');
  const project = await sidecar<{ id: string; slug: string }>(
    lab,
    'POST',
    'api/v1/projects',
    { ...bearer(grace), 'Content-Type': 'application/json' },
    JSON.stringify({
      name: 'Churn Lab',
      description: '',
      visibility: 'private'
    })
  );
  // The project's folder, as "+ New Project" makes it, with her notebook.
  const folder = path.join(lab.dataDir, 'notebooks', 'projects', project.slug);
  mkdirSync(folder, { recursive: true });
  writeFileSync(
    path.join(folder, 'sweep.ipynb'),
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {
        kernelspec: {
          name: 'python3',
          display_name: 'Python 3 (ipykernel)',
          language: 'python'
        }
      },
      cells: [
        {
          cell_type: 'code',
          id: 'sweep',
          metadata: {},
          execution_count: null,
          outputs: [],
          source: CELL
        }
      ]
    })
  );

  await logIn(page, lab, grace);
  await eventsFlowing(page);
  await page.evaluate(
    id =>
      (window as any).jupyterapp.commands.execute('insighter:open-studio', {
        id
      }),
    project.id
  );
  const studio = page.locator('.jp-insighter-Studio').filter({ visible: true });
  await expect(studio.getByTestId('insighter-studio-name')).toHaveText(
    'Churn Lab'
  );
  await studio.getByTestId('insighter-studio-tab-experiments').click();
  await expect(studio.getByTestId('insighter-runs-empty')).toBeVisible();
  await recordRunViews(page);

  // The notebook beside the Studio, its cell run on the project's kernel.
  // (The widget it resolves to does not cross into the test.)
  await page.evaluate(async file => {
    await (window as any).jupyterapp.commands.execute('docmanager:open', {
      path: file,
      options: { mode: 'split-right' }
    });
  }, `projects/${project.slug}/sweep.ipynb`);
  const notebook = page.locator('.jp-NotebookPanel').filter({ visible: true });
  await expect(notebook).toHaveCount(1);
  await expect(studio).toBeVisible();
  // A notebook written outside the lab asks which kernel to start.
  const selectKernel = page
    .locator('.jp-Dialog')
    .getByRole('button', { name: 'Select', exact: true });
  if (
    await selectKernel
      .waitFor({ timeout: 15_000 })
      .then(() => true)
      .catch(() => false)
  ) {
    await selectKernel.click();
  }
  await notebook.locator('.jp-Cell').first().click();
  // Not awaited: the command resolves only when the cell is done.
  await page.evaluate(() => {
    void (window as any).jupyterapp.commands.execute('notebook:run-all-cells');
  });

  // Experiments: the run's row appears running and its AUC moves as it logs.
  const row = studio.locator('tr[data-run-id]');
  await expect(row).toHaveCount(1, { timeout: 60_000 });
  await expect(row.locator('td[data-column="name"]')).toContainText(
    'notebook sweep'
  );
  await expect
    .poll(
      async () =>
        new Set(
          (await samples(page, 'experiments'))
            .filter(s => s.status === 'running' && s.value)
            .map(s => s.value)
        ).size
    )
    .toBeGreaterThanOrEqual(2);
  const runId = await row.getAttribute('data-run-id');

  // The Tool Monitor lists it beside the jobs and draws its curve as it grows.
  await studio.getByTestId('insighter-studio-tab-monitor').click();
  const monitor = studio.locator('.jp-insighter-Monitor');
  await expect(
    monitor.locator(`.jp-insighter-monitor-run[data-run-id="${runId}"]`)
  ).toBeVisible();
  const detail = monitor.locator(
    `.jp-insighter-monitor-detail[data-run-id="${runId}"]`
  );
  await expect(detail).toBeVisible();
  await expect(detail).toHaveAttribute('data-status', 'succeeded', {
    timeout: 60_000
  });
  const chart = detail.locator('.jp-insighter-metric-chart[data-metric="auc"]');
  await expect(chart).toHaveAttribute('data-points', String(STEPS));
  const curve = (await samples(page, 'monitor'))
    .filter(s => s.status === 'running')
    .map(s => Number(s.value));
  // Seen at least twice while the run ran, each time with more points.
  expect(curve.length).toBeGreaterThanOrEqual(2);
  expect([...new Set(curve)].sort((a, b) => a - b)).toEqual(curve);
  // The first was drawn before the cell had logged every step.
  expect(curve[0]).toBeLessThan(STEPS);

  // The Experiments row says it finished, with the last AUC.
  await studio.getByTestId('insighter-studio-tab-experiments').click();
  await expect(row).toHaveAttribute('data-status', 'succeeded');
  await expect(row.locator('td[data-column="auc"]')).toContainText('0.94');
  const table = (await samples(page, 'experiments')).filter(
    s => s.status === 'running' && s.value
  );
  expect(table.map(s => Number(s.value))).toEqual(
    [...table.map(s => Number(s.value))].sort((a, b) => a - b)
  );

  await expect(
    notebook.locator('.jp-Cell').first().locator('.jp-OutputArea-output')
  ).toHaveText('run FINISHED');
  expect(await page.evaluate(() => (window as any).__insighterNoReload)).toBe(
    true
  );
  expect(consoleErrors).toEqual([]);
});
