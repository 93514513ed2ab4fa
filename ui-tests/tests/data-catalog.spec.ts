/**
 * Issue 5 acceptance, the catalog's side: in "Credit Risk Alpha" a person
 * drops `german_credit.csv` on the Studio's Data section; it uploads with a
 * progress bar, turns Ready with 1,000 rows and 62 columns, and its detail
 * shows statistics, histograms and the first rows. A binary file named
 * `.csv` gets the sidecar's own explanation and leaves no dataset; an
 * upload cancelled mid-way leaves none either. All of it real: the sidecar
 * behind the Jupyter proxy, its validator and profiler, Chromium's
 * XMLHttpRequest. "Open in notebook" → `df.shape` is dataset-notebook.spec.ts.
 */
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import type { RunningLab } from '../../extensions/app/test/support/lab';
import { expect, logIn, test } from '../fixtures';
import {
  bearer,
  callSidecar,
  GERMAN_CREDIT,
  type IAccount,
  sidecar,
  signUp
} from '../sidecar';

test.use({ labEnv: { INSIGHTER_AUTH_AUTOCONFIRM: 'true' } });

interface IListedDataset {
  id: string;
  name: string;
  status: string;
}

/**
 * Drops a file on `target` as a person dragging it from their desktop
 * would: a DataTransfer holding the file, built in the page.
 */
async function dropFile(
  page: Page,
  selector: string,
  file: { name: string; type: string; base64?: string; generatedBytes?: number }
): Promise<void> {
  const dataTransfer = await page.evaluateHandle(spec => {
    let parts: BlobPart[];
    if (spec.base64 !== undefined) {
      parts = [Uint8Array.from(atob(spec.base64), c => c.charCodeAt(0))];
    } else {
      // A large, valid CSV made in the page: a header, then the same row.
      const row = '1,2.5,alpha,2024-01-01\n';
      const chunk = row.repeat(Math.ceil(1_000_000 / row.length));
      parts = ['a,b,c,d\n'];
      for (let size = 0; size < spec.generatedBytes!; size += chunk.length) {
        parts.push(chunk);
      }
    }
    const transfer = new DataTransfer();
    transfer.items.add(new File(parts, spec.name, { type: spec.type }));
    return transfer;
  }, file);
  const zone = page.locator(selector);
  for (const type of ['dragenter', 'dragover', 'drop']) {
    await zone.dispatchEvent(type, { dataTransfer });
  }
}

async function listDatasets(
  lab: RunningLab,
  account: IAccount,
  projectId: string
): Promise<IListedDataset[]> {
  const answer = await sidecar<{ datasets: IListedDataset[] }>(
    lab,
    'GET',
    `api/v1/datasets?project_id=${projectId}`,
    bearer(account)
  );
  return answer.datasets;
}

test('drag and drop german_credit.csv into the Studio: Ready with its statistics; a bad file and a cancelled upload leave nothing', async ({
  page,
  lab,
  consoleErrors
}) => {
  test.setTimeout(240_000);
  const ada = await signUp(lab, 'ada', 'Ada Lovelace');
  await logIn(page, lab, ada);
  expect(consoleErrors, 'browser console errors during load').toEqual([]);

  // "+ New Project" → its Studio opens on Data, the first tool of the registry.
  await page.getByTestId('insighter-create-first-project').click();
  await page.getByTestId('insighter-project-name').fill('Credit Risk Alpha');
  await page.getByTestId('insighter-project-submit').click();
  const studio = page.locator('.jp-insighter-Studio');
  await expect(studio.getByTestId('insighter-studio-name')).toHaveText(
    'Credit Risk Alpha'
  );
  await studio.getByTestId('insighter-studio-tab-data').click();
  const section = studio.getByTestId('insighter-studio-data');
  await expect(section.getByTestId('insighter-datasets-empty')).toHaveText(
    'No datasets yet. Drop a CSV or Parquet file above.'
  );
  const projectId = (await section.getAttribute('data-project-id'))!;

  // Drop german_credit.csv: it uploads, is checked and profiled, and is Ready.
  const dropZone =
    '[data-testid="insighter-studio-data"] [data-testid="insighter-dataset-dropzone"]';
  await dropFile(page, dropZone, {
    name: 'german_credit.csv',
    type: 'text/csv',
    base64: readFileSync(GERMAN_CREDIT).toString('base64')
  });
  const row = section.locator(
    '.jp-insighter-dataset-row[data-name="german_credit.csv"]'
  );
  await expect(row).toHaveAttribute('data-status', 'ready', {
    timeout: 60_000
  });
  await expect(row).toHaveAttribute('data-row-count', '1000');
  await expect(row).toHaveAttribute('data-column-count', '62');
  await expect(row).toHaveAttribute('data-version', '1');
  await expect(row.locator('td')).toHaveText([
    'german_credit.csv',
    'CSV',
    /^\d+(\.\d)? KB$/,
    '1,000',
    '62',
    'Ready',
    'v1',
    'You',
    /.+/
  ]);
  await expect(section.locator('.jp-insighter-upload')).toHaveCount(0);

  // Its detail: statistics per column, histograms, top values, first rows.
  await row.click();
  const detail = page.locator('.jp-insighter-dataset-detail').filter({
    visible: true
  });
  await expect(detail).toHaveAttribute('data-row-count', '1000');
  await expect(detail).toHaveAttribute('data-column-count', '62');
  await expect(detail).toHaveAttribute('data-status', 'ready');
  await expect(detail.getByTestId('insighter-dataset-name')).toHaveText(
    'german_credit.csv'
  );
  await expect(detail.getByTestId('insighter-dataset-rows')).toHaveText(
    '1,000'
  );
  await expect(
    detail.locator('.jp-insighter-DatasetColumns tbody tr')
  ).toHaveCount(62);
  // The figures are the sidecar's profile, as its API gives them.
  const record = await sidecar<{
    id: string;
    columns: {
      name: string;
      min: number;
      max: number;
      histogram: unknown[];
    }[];
  }>(
    lab,
    'GET',
    `api/v1/datasets/${await row.getAttribute('data-dataset-id')}`,
    bearer(ada)
  );
  const amount = record.columns.find(c => c.name === 'Amount')!;
  const amountRow = detail.locator(
    '.jp-insighter-dataset-column[data-column="Amount"]'
  );
  await expect(amountRow).toContainText(amount.min.toLocaleString('en-US'));
  await expect(amountRow).toContainText(amount.max.toLocaleString('en-US'));
  const histogram = amountRow.locator('.jp-insighter-histogram');
  await expect(histogram).toBeVisible();
  await expect(histogram.locator('rect')).toHaveCount(amount.histogram.length);
  expect(amount.histogram.length).toBeGreaterThan(1);
  const classValues = detail.locator(
    '.jp-insighter-top-values[data-column="Class"] li'
  );
  await expect(classValues).toHaveCount(2);
  await expect(classValues.first()).toContainText('Good');
  await expect(classValues.first()).toContainText('700');
  const preview = detail.locator('.jp-insighter-preview');
  await expect(preview.locator('thead th')).toHaveCount(62);
  await expect(preview.locator('thead th').first()).toHaveText('Duration');
  await expect(preview.locator('tbody tr')).toHaveCount(50);
  await expect(
    preview.locator('tbody tr').first().locator('td').first()
  ).toHaveText('6');

  // (dataset-notebook.spec.ts goes on from here: "Open in notebook" → df.shape.)

  // Opening it selected it: back in the Studio its row is marked.
  await page
    .locator('#jp-main-dock-panel .lm-TabBar-tab')
    .filter({ hasText: 'Credit Risk Alpha' })
    .click();
  await expect(row).toHaveAttribute('aria-selected', 'true');

  // The Data view lists it under its project.
  await page.evaluate(async () => {
    await (window as any).jupyterapp.commands.execute('insighter:open-data');
  });
  const dataView = page.locator('.jp-insighter-DataView');
  const listed = dataView.locator(
    '.jp-insighter-dataset-row[data-name="german_credit.csv"]'
  );
  await expect(listed).toHaveAttribute('data-status', 'ready');
  await expect(listed.locator('td').nth(1)).toHaveText('Credit Risk Alpha');
  await page
    .locator('#jp-main-dock-panel .lm-TabBar-tab')
    .filter({ hasText: 'Credit Risk Alpha' })
    .click();

  // A binary file named .csv, through the file picker: the sidecar's reason, no row.
  const binary = Buffer.alloc(4096);
  for (let i = 0; i < binary.length; i++) binary[i] = (i * 151 + 7) % 256;
  binary.write('\x89PNG\r\n\x1a\n', 0, 'binary');
  const refusal = await callSidecar<{
    error: { code: string; message: string };
  }>(
    lab,
    'POST',
    `api/v1/datasets?project_id=${projectId}&name=photo.csv`,
    { ...bearer(ada), 'Content-Type': 'text/csv' },
    binary
  );
  expect(refusal.status).toBe(422);
  expect(refusal.body.error.code).toBe('invalid_file');
  await section
    .getByTestId('insighter-dataset-file-input')
    .setInputFiles({ name: 'photo.csv', mimeType: 'text/csv', buffer: binary });
  const failed = section.locator(
    '.jp-insighter-upload[data-file-name="photo.csv"][data-state="failed"]'
  );
  await expect(failed.getByRole('alert')).toHaveText(
    refusal.body.error.message
  );
  await expect(
    section.locator('.jp-insighter-dataset-row[data-name="photo.csv"]')
  ).toHaveCount(0);
  await failed.getByTestId('insighter-upload-dismiss').click();
  await expect(section.locator('.jp-insighter-upload')).toHaveCount(0);

  // A large upload, throttled to ~4 MB/s, cancelled part-way: nothing remains.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: 4 * 1024 * 1024
  });
  await dropFile(page, dropZone, {
    name: 'big.csv',
    type: 'text/csv',
    generatedBytes: 60_000_000
  });
  const big = section.locator('.jp-insighter-upload[data-file-name="big.csv"]');
  await expect(big).toHaveAttribute('data-state', 'uploading');
  const progress = big.getByRole('progressbar');
  await expect
    .poll(async () => Number(await progress.getAttribute('aria-valuenow')), {
      timeout: 30_000
    })
    .toBeGreaterThan(0);
  expect(Number(await progress.getAttribute('aria-valuenow'))).toBeLessThan(
    100
  );
  await big.getByTestId('insighter-upload-cancel').click();
  await expect(big).toHaveCount(0);
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: -1
  });

  // Listed afresh, from the sidecar: german_credit alone, in the UI and the API.
  await section.getByRole('button', { name: 'Refresh' }).click();
  await expect(section.locator('.jp-insighter-dataset-row')).toHaveCount(1);
  await expect(section.locator('.jp-insighter-dataset-row')).toHaveAttribute(
    'data-name',
    'german_credit.csv'
  );
  await expect
    .poll(async () =>
      (await listDatasets(lab, ada, projectId)).map(
        d => `${d.name} ${d.status}`
      )
    )
    .toEqual(['german_credit.csv ready']);

  // The browser logs the refused upload's 422, and nothing else.
  expect(consoleErrors).toEqual([expect.stringMatching(/status of 422/)]);
});

test('versions, rename, description and delete from the detail, and a script’s upload arriving live', async ({
  page,
  lab,
  consoleErrors
}) => {
  test.setTimeout(180_000);
  const lin = await signUp(lab, 'lin', 'Lin Chen');
  await logIn(page, lab, lin);
  const project = await sidecar<{ id: string; slug: string }>(
    lab,
    'POST',
    'api/v1/projects',
    { ...bearer(lin), 'Content-Type': 'application/json' },
    JSON.stringify({
      name: 'Churn Forecast',
      description: '',
      visibility: 'private'
    })
  );
  await page.getByTestId('insighter-project-card').click();
  const studio = page.locator('.jp-insighter-Studio');
  await studio.getByTestId('insighter-studio-tab-data').click();
  const section = studio.getByTestId('insighter-studio-data');
  await expect(section.getByTestId('insighter-datasets-empty')).toBeVisible();

  // A script uploads version 1: the row arrives over the event stream.
  const csv = readFileSync(GERMAN_CREDIT);
  const upload = (name: string, body: BodyInit) =>
    sidecar<{ id: string; version: number }>(
      lab,
      'POST',
      `api/v1/datasets?${new URLSearchParams({ project_id: project.id, name })}`,
      { ...bearer(lin), 'Content-Type': 'text/csv' },
      body
    );
  const first = await upload('german_credit.csv', new Uint8Array(csv));
  const row = section.locator('.jp-insighter-dataset-row');
  await expect(row).toHaveAttribute('data-version', '1');
  await expect(row).toHaveAttribute('data-dataset-id', first.id);

  // The same name dropped again is version 2 of the same dataset.
  await dropFile(
    page,
    '[data-testid="insighter-studio-data"] [data-testid="insighter-dataset-dropzone"]',
    {
      name: 'german_credit.csv',
      type: 'text/csv',
      base64: csv.toString('base64')
    }
  );
  await expect(row).toHaveAttribute('data-version', '2', { timeout: 60_000 });
  await expect(row).toHaveCount(1);

  await row.click();
  const detail = page
    .locator('.jp-insighter-dataset-detail')
    .filter({ visible: true });
  await expect(detail.getByTestId('insighter-dataset-version')).toHaveText(
    'v2 of 2'
  );
  const versions = detail.locator('.jp-insighter-dataset-version');
  await expect(versions).toHaveCount(2);
  await versions
    .filter({
      has: page.locator('[data-testid="insighter-dataset-show-version"]')
    })
    .getByTestId('insighter-dataset-show-version')
    .click();
  await expect(detail).toHaveAttribute('data-version', '1');
  await expect(detail.getByTestId('insighter-dataset-version')).toHaveText(
    'v1 of 2'
  );
  await expect(detail.locator('.jp-insighter-preview tbody tr')).toHaveCount(
    50
  );

  // Rename: a taken name gets the sidecar's refusal, a free one is kept.
  await upload('applicants.csv', 'id,amount\n1,100\n2,250\n');
  await expect(section.locator('.jp-insighter-dataset-row')).toHaveCount(2);
  const taken = await callSidecar<{ error: { message: string } }>(
    lab,
    'PATCH',
    `api/v1/datasets/${first.id}`,
    { ...bearer(lin), 'Content-Type': 'application/json' },
    JSON.stringify({ name: 'applicants.csv' })
  );
  expect(taken.status).toBe(409);
  await detail.getByTestId('insighter-dataset-rename').click();
  const nameInput = detail.getByTestId('insighter-dataset-rename-input');
  await nameInput.fill('applicants.csv');
  await detail.getByTestId('insighter-dataset-rename-save').click();
  await expect(detail.getByTestId('insighter-dataset-rename-error')).toHaveText(
    taken.body.error.message
  );
  await nameInput.fill('credit applications.csv');
  await detail.getByTestId('insighter-dataset-rename-save').click();
  await expect(detail.getByTestId('insighter-dataset-name')).toHaveText(
    'credit applications.csv'
  );
  await expect(
    page.locator('#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current')
  ).toContainText('credit applications.csv');
  await detail.getByTestId('insighter-dataset-describe').click();
  await detail
    .getByTestId('insighter-dataset-description-input')
    .fill('Statlog German Credit, one-hot encoded.');
  await detail.getByTestId('insighter-dataset-description-save').click();
  await expect(detail.getByTestId('insighter-dataset-description')).toHaveText(
    'Statlog German Credit, one-hot encoded.'
  );

  // Delete version 2 (after the question), then the whole dataset.
  const dialog = page.locator('.jp-Dialog');
  await versions
    .filter({ hasText: 'v2' })
    .getByTestId('insighter-dataset-delete-version')
    .click();
  await expect(dialog).toContainText(
    'Delete version 2 of "credit applications.csv"?'
  );
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await expect(versions).toHaveCount(1);
  await expect(detail.getByTestId('insighter-dataset-version')).toHaveText(
    'v1 of 1'
  );

  await detail.getByTestId('insighter-dataset-delete').click();
  await expect(dialog).toContainText(
    'Delete dataset "credit applications.csv"?'
  );
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(detail).toBeVisible();
  await detail.getByTestId('insighter-dataset-delete').click();
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await expect(page.locator('.jp-insighter-dataset-detail')).toHaveCount(0);
  await expect(
    section.locator('.jp-insighter-dataset-row[data-name="applicants.csv"]')
  ).toHaveCount(1);
  await expect(section.locator('.jp-insighter-dataset-row')).toHaveCount(1);
  const gone = await callSidecar(
    lab,
    'GET',
    `api/v1/datasets/${first.id}`,
    bearer(lin)
  );
  expect(gone.status).toBe(404);

  // The browser logs the refused rename's 409, and nothing else.
  expect(consoleErrors).toEqual([expect.stringMatching(/status of 409/)]);
});
