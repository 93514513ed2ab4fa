/**
 * Issue 5 acceptance, the notebook's side: german_credit.csv, uploaded in
 * "Credit Risk Alpha"'s Data section, opens with "Open in notebook" in a
 * notebook in the project's folder whose first cell loads it into pandas —
 * on a real kernel, as the person signed in to the page, with no path or
 * token in the notebook — and prints `df.shape`: (1000, 62). The catalog's
 * drag and drop, statistics and refusals are data-catalog.spec.ts.
 */
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { expect, logIn, test } from '../fixtures';
import { bearer, GERMAN_CREDIT, sidecar, signUp } from '../sidecar';

test.use({ labEnv: { INSIGHTER_AUTH_AUTOCONFIRM: 'true' } });

test('"Open in notebook" loads german_credit into pandas on a real kernel: (1000, 62)', async ({
  page,
  lab,
  consoleErrors
}) => {
  test.setTimeout(240_000);
  const ada = await signUp(lab, 'ada', 'Ada Lovelace');
  const project = await sidecar<{ id: string; slug: string }>(
    lab,
    'POST',
    'api/v1/projects',
    { ...bearer(ada), 'Content-Type': 'application/json' },
    JSON.stringify({
      name: 'Credit Risk Alpha',
      description: '',
      visibility: 'private'
    })
  );
  // Logging in, the page hands Ada's session to the server for kernels.
  await logIn(page, lab, ada);

  // Her project's Data section: german_credit.csv through the file picker.
  await page.evaluate(
    slug =>
      (window as any).jupyterapp.commands.execute('insighter:open-studio', {
        slug
      }),
    project.slug
  );
  const studio = page.locator('.jp-insighter-Studio');
  await studio.getByTestId('insighter-studio-tab-data').click();
  const section = studio.getByTestId('insighter-studio-data');
  await section
    .getByTestId('insighter-dataset-file-input')
    .setInputFiles(GERMAN_CREDIT);
  const row = section.locator(
    '.jp-insighter-dataset-row[data-name="german_credit.csv"]'
  );
  await expect(row).toHaveAttribute('data-status', 'ready', {
    timeout: 60_000
  });
  await expect(row).toHaveAttribute('data-row-count', '1000');
  await expect(row).toHaveAttribute('data-column-count', '62');

  // Its detail → "Open in notebook".
  await row.click();
  const open = page
    .getByTestId('insighter-dataset-open-notebook')
    .filter({ visible: true });
  await expect(open).toBeEnabled();
  await open.click();

  const notebook = page.locator('.jp-NotebookPanel').filter({ visible: true });
  await expect(notebook).toHaveCount(1);
  await expect(
    page.locator('#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current')
  ).toContainText('german_credit.ipynb');
  const firstCell = notebook.locator('.jp-Cell').first();
  await expect(firstCell.locator('.jp-InputArea-editor')).toHaveText(
    [
      'import insighter',
      '',
      'df = insighter.datasets.load("german_credit.csv")',
      'print(df.shape)',
      'df.head()'
    ].join('\n'),
    { useInnerText: true }
  );
  // The cell ran by itself on the project's kernel.
  const outputs = firstCell.locator('.jp-OutputArea-output');
  await expect(outputs.first()).toHaveText('(1000, 62)', { timeout: 90_000 });
  // df.head(): five rows, as pandas renders them.
  await expect(outputs.nth(1).locator('table tbody tr')).toHaveCount(5);
  await expect(outputs.nth(1).locator('table thead')).toContainText('Duration');

  // It lives in the project's folder and, saved with its outputs, holds no credential.
  await page.evaluate(() =>
    (window as any).jupyterapp.commands.execute('docmanager:save')
  );
  const saved = await lab.fetch(
    `api/contents/projects/${project.slug}/german_credit.ipynb`
  );
  expect(saved.status).toBe(200);
  const file = JSON.stringify(await saved.json());
  expect(file).toContain('(1000, 62)');
  expect(file).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\./);

  // The kernels' copy of her session is hers alone, and goes when she signs out.
  const kernelSession = path.join(lab.dataDir, 'run', 'kernel-session.json');
  expect(statSync(kernelSession).mode & 0o777).toBe(0o600);
  await page.evaluate(() =>
    (window as any).jupyterapp.commands.execute('insighter:logout')
  );
  await expect.poll(() => existsSync(kernelSession)).toBe(false);
  expect(consoleErrors).toEqual([]);
});
