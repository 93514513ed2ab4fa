/**
 * Issue 4 acceptance: a person logs in to an empty dashboard, creates the
 * team project "Credit Risk Alpha" with "+ New Project", lands in its Studio,
 * creates a notebook in `projects/credit-risk-alpha/` from the Notebooks
 * section and runs a cell on a real kernel. A teammate, whose dashboard is
 * open meanwhile, sees the project and its changes arrive live over the event
 * stream; an outsider never sees it. Everything runs against a real Insighter
 * Lab: Jupyter server, kernels, the sidecar behind the Jupyter proxy.
 */
import type { Browser, Page } from '@playwright/test';
import type { RunningLab } from '../../extensions/app/test/support/lab';
import {
  eventsFlowing,
  expect,
  logIn,
  test,
  waitForRestored
} from '../fixtures';
import { type IAccount, PASSWORD } from '../sidecar';

test.use({ labEnv: { INSIGHTER_AUTH_AUTOCONFIRM: 'true' } });

interface ITeam {
  id: string;
  name: string;
}

/**
 * Calls the sidecar as a script would, through the Jupyter proxy. Jupyter
 * demands its XSRF cookie and header on unsafe methods; the cookie comes with
 * any page the server renders.
 */
class SidecarApi {
  private constructor(
    private readonly _lab: RunningLab,
    private readonly _xsrf: string,
    private readonly _anonKey: string
  ) {}

  static async connect(lab: RunningLab): Promise<SidecarApi> {
    const page = await lab.fetch('lab');
    const cookie = page.headers
      .getSetCookie()
      .find(c => c.startsWith('_xsrf='));
    if (!cookie) {
      throw new Error('The lab page set no _xsrf cookie.');
    }
    const xsrf = cookie.slice('_xsrf='.length).split(';')[0];
    const config = await (await lab.fetch('insighter/api/v1/config')).json();
    return new SidecarApi(lab, xsrf, config.supabase_anon_key);
  }

  async call<T>(
    method: string,
    path: string,
    token: string | null,
    body?: unknown
  ): Promise<T> {
    const response = await this._lab.fetch(`insighter/${path}`, {
      method,
      headers: {
        Cookie: `_xsrf=${this._xsrf}`,
        'X-XSRFToken': this._xsrf,
        'Content-Type': 'application/json',
        apikey: this._anonKey,
        ...(token ? { Authorization: `Bearer ${token}` } : {})
      },
      body: body === undefined ? undefined : JSON.stringify(body)
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A confirmed account (the lab runs with INSIGHTER_AUTH_AUTOCONFIRM). */
  async signUp(name: string, fullName: string): Promise<IAccount> {
    const email = `${name}.${Date.now()}@example.com`;
    const session = await this.call<{ access_token: string }>(
      'POST',
      'auth/v1/signup',
      null,
      {
        email,
        password: PASSWORD,
        data: { full_name: fullName }
      }
    );
    return { email, fullName, token: session.access_token };
  }
}

async function runCommand(
  page: Page,
  id: string,
  args: unknown = {}
): Promise<unknown> {
  return page.evaluate(
    ([command, commandArgs]) =>
      (window as any).jupyterapp.commands.execute(command, commandArgs),
    [id, args] as const
  );
}

/** A second person in their own browser profile, with console errors recorded. */
async function personIn(
  browser: Browser
): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', msg => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', err => errors.push(`page error: ${err.message}`));
  return { page, errors, close: () => context.close() };
}

test('a team project from the empty dashboard to a running notebook, live for teammates only', async ({
  page,
  browser,
  lab,
  openLab,
  consoleErrors
}) => {
  test.setTimeout(240_000);
  const api = await SidecarApi.connect(lab);
  const ada = await api.signUp('ada', 'Ada Lovelace');
  const grace = await api.signUp('grace', 'Grace Hopper');
  const mallory = await api.signUp('mallory', 'Mallory Outsider');

  // Ada's team, with Grace invited: the invitation is accepted when Grace logs in.
  const team = await api.call<ITeam>('POST', 'api/v1/teams', ada.token, {
    name: 'Risk Analytics'
  });
  await api.call('POST', `api/v1/teams/${team.id}/invitations`, ada.token, {
    email: grace.email,
    role: 'member'
  });

  // Grace and Mallory look at their dashboards while Ada works.
  const teammate = await personIn(browser);
  const outsider = await personIn(browser);
  await logIn(teammate.page, lab, grace);
  await logIn(outsider.page, lab, mallory);
  for (const person of [teammate, outsider]) {
    await expect(
      person.page.getByTestId('insighter-empty-state')
    ).toBeVisible();
    await eventsFlowing(person.page);
    expect(person.errors, 'browser console errors during load').toEqual([]);
  }

  // Ada logs in: greeted, status shown, no project yet.
  await openLab('lab/workspaces/ada');
  expect(consoleErrors, 'browser console errors during load').toEqual([]);
  await page.getByTestId('insighter-login-email').fill(ada.email);
  await page.getByTestId('insighter-login-password').fill(PASSWORD);
  await page.getByTestId('insighter-login-submit').click();
  await expect(page.getByTestId('insighter-welcome')).toHaveText(
    'Welcome back, Ada'
  );
  await expect(page.getByTestId('insighter-dashboard-status-state')).toHaveText(
    /^(OPTIMAL|DEGRADED|DOWN)$/
  );
  const empty = page.getByTestId('insighter-empty-state');
  await expect(empty).toBeVisible();
  await expect(
    empty.getByRole('button', { name: 'Create Your First Project' })
  ).toBeVisible();
  await eventsFlowing(page);

  // "+ New Project": the form says what is wrong before anything is sent.
  await page.getByTestId('insighter-create-first-project').click();
  const name = page.getByTestId('insighter-project-name');
  await expect(name).toBeFocused();
  await page.getByTestId('insighter-project-submit').click();
  await expect(page.getByTestId('insighter-project-error')).toHaveText(
    'Project name is required.'
  );
  await name.fill('x'.repeat(101));
  await expect(page.getByTestId('insighter-project-error')).toHaveText(
    'Project name must be at most 100 characters.'
  );
  await name.fill('Credit Risk Alpha');
  await expect(page.getByTestId('insighter-project-error')).toHaveCount(0);
  await page
    .getByTestId('insighter-project-description')
    .fill('Scores loan applications.');
  await page.getByTestId('insighter-project-visibility').selectOption('team');
  const teamPicker = page.getByTestId('insighter-project-team');
  await expect(teamPicker).toBeEnabled();
  await teamPicker.selectOption({ label: 'Risk Analytics' });
  await page.getByTestId('insighter-project-submit').click();

  // Its Studio opens, with the project's facts and the registry's tools.
  const studio = page.locator('.jp-insighter-Studio');
  await expect(studio.getByTestId('insighter-studio-name')).toHaveText(
    'Credit Risk Alpha'
  );
  await expect(page.locator('.jp-insighter-NewProjectDialog')).toHaveCount(0);
  await expect(studio.getByTestId('insighter-studio-visibility')).toHaveText(
    'Team · Risk Analytics'
  );
  await expect(studio.getByTestId('insighter-studio-slug')).toHaveText(
    'credit-risk-alpha'
  );
  await expect(studio.getByTestId('insighter-studio-owner')).toHaveText('You');
  await expect(studio.getByRole('tab')).toHaveText([
    'Data',
    'Notebooks',
    'Experiments',
    'Models',
    'Deployments',
    'Tool Monitor',
    'Workflow'
  ]);
  await studio.getByTestId('insighter-studio-tab-workflow').click();
  await expect(
    studio.getByTestId('insighter-studio-coming-soon').filter({ visible: true })
  ).toHaveText(/Coming soon: Workflow/);

  // Its folder exists in the Jupyter contents.
  const folder = await lab.fetch('api/contents/projects/credit-risk-alpha');
  expect(folder.status).toBe(200);
  expect((await folder.json()).type).toBe('directory');

  // The Notebooks section creates a notebook there and opens it with a kernel.
  await studio.getByTestId('insighter-studio-tab-notebooks').click();
  await expect(studio.getByTestId('insighter-notebooks-empty')).toContainText(
    'No notebook'
  );
  await studio.getByTestId('insighter-studio-new-notebook').click();
  const notebook = page.locator('.jp-NotebookPanel').filter({ visible: true });
  await expect(notebook).toHaveCount(1);
  await expect(
    page.locator('#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current')
  ).toContainText('Untitled.ipynb');
  const listing = await (
    await lab.fetch('api/contents/projects/credit-risk-alpha')
  ).json();
  expect(listing.content.map((item: { path: string }) => item.path)).toEqual([
    'projects/credit-risk-alpha/Untitled.ipynb'
  ]);

  // Its kernel starts and connects: a cell run while the notebook has no
  // kernel connection would be dropped (the toolbar says "idle" earlier).
  await page.waitForFunction(
    () => {
      const kernel = (window as any).jupyterapp.shell.currentWidget
        ?.sessionContext?.session?.kernel;
      return (
        kernel?.connectionStatus === 'connected' && kernel.status === 'idle'
      );
    },
    undefined,
    { timeout: 60_000 }
  );
  await notebook.locator('.jp-Cell .jp-InputArea-editor').first().click();
  await page.keyboard.type('print(6*7)');
  await page.keyboard.press('Shift+Enter');
  await expect(notebook.locator('.jp-OutputArea-output').first()).toHaveText(
    '42',
    {
      timeout: 60_000
    }
  );

  // Back in the Studio, the notebook is listed.
  await runCommand(page, 'insighter:open-studio', {
    slug: 'credit-risk-alpha'
  });
  await expect(studio.getByTestId('insighter-notebook-item')).toHaveText([
    /Untitled\.ipynb/
  ]);

  // Grace saw the project arrive without reloading; Mallory did not.
  const graceCard = teammate.page.getByTestId('insighter-project-card');
  await expect(graceCard).toHaveCount(1);
  await expect(graceCard.getByTestId('insighter-project-card-name')).toHaveText(
    'Credit Risk Alpha'
  );
  await expect(
    graceCard.getByTestId('insighter-project-card-visibility')
  ).toHaveText('Team · Risk Analytics');
  const counts = graceCard.getByTestId('insighter-project-card-counts');
  for (const count of ['0 datasets', '0 runs', '0 models']) {
    await expect(counts).toContainText(count);
  }

  // Its changes reach her live too: Ada renames it.
  const [project] = (
    await api.call<{ projects: { id: string; slug: string }[] }>(
      'GET',
      'api/v1/projects',
      ada.token
    )
  ).projects;
  await api.call('PATCH', `api/v1/projects/${project.id}`, ada.token, {
    name: 'Credit Risk Alpha v2'
  });
  await expect(graceCard.getByTestId('insighter-project-card-name')).toHaveText(
    'Credit Risk Alpha v2'
  );
  await expect(studio.getByTestId('insighter-studio-name')).toHaveText(
    'Credit Risk Alpha v2'
  );

  // Grace opens it: she sees who owns it and the notebook Ada made.
  await graceCard.click();
  const graceStudio = teammate.page.locator('.jp-insighter-Studio');
  await expect(graceStudio.getByTestId('insighter-studio-owner')).toHaveText(
    'Ada Lovelace'
  );
  // The Studio opens on its first tool, Data.
  await graceStudio.getByTestId('insighter-studio-tab-notebooks').click();
  await expect(graceStudio.getByTestId('insighter-notebook-item')).toHaveText([
    /Untitled\.ipynb/
  ]);

  // Mallory's stream stayed open and carried nothing of it; a reload lists nothing either.
  await eventsFlowing(outsider.page);
  await expect(
    outsider.page.getByTestId('insighter-empty-state')
  ).toBeVisible();
  await expect(outsider.page.getByTestId('insighter-project-card')).toHaveCount(
    0
  );
  await outsider.page.reload();
  await waitForRestored(outsider.page);
  await expect(
    outsider.page.getByTestId('insighter-empty-state')
  ).toBeVisible();
  await expect(outsider.page.getByTestId('insighter-project-card')).toHaveCount(
    0
  );
  const mallorysList = await api.call<{ projects: unknown[] }>(
    'GET',
    'api/v1/projects',
    mallory.token
  );
  expect(mallorysList.projects).toEqual([]);
  expect(outsider.errors).toEqual([]);
  expect(teammate.errors).toEqual([]);

  // Even asked for it by id, Mallory's Studio shows nothing of the project.
  await runCommand(outsider.page, 'insighter:open-studio', { id: project.id });
  const mallorysStudio = outsider.page.locator('.jp-insighter-Studio');
  await expect(
    mallorysStudio.getByTestId('insighter-studio-message')
  ).toHaveText(
    'This project does not exist any more, or it is no longer shared with you.'
  );
  await expect(mallorysStudio).not.toContainText('Credit Risk');
  await expect(mallorysStudio.getByRole('tab')).toHaveCount(0);
  // The browser logs the sidecar's 404 for the project, and only that.
  expect(outsider.errors).toEqual([expect.stringMatching(/status of 404/)]);
  // Nor is such a Studio brought back by a reload.
  await outsider.page.reload();
  await waitForRestored(outsider.page);
  await expect(
    outsider.page.getByTestId('insighter-empty-state')
  ).toBeVisible();
  await expect(outsider.page.locator('.jp-insighter-Studio')).toHaveCount(0);

  // A reload brings back Ada's dashboard and the project's Studio.
  await page.reload();
  await waitForRestored(page);
  const tabs = page.locator('#jp-main-dock-panel .lm-TabBar-tab');
  await expect(tabs.filter({ hasText: 'Dashboard' })).toHaveCount(1);
  await expect(tabs.filter({ hasText: 'Credit Risk Alpha v2' })).toHaveCount(1);
  await tabs.filter({ hasText: 'Credit Risk Alpha v2' }).click();
  await expect(studio.getByTestId('insighter-studio-slug')).toHaveText(
    'credit-risk-alpha'
  );
  await tabs.filter({ hasText: 'Dashboard' }).click();
  await expect(page.getByTestId('insighter-project-card')).toHaveCount(1);
  expect(consoleErrors, 'browser console errors after the reload').toEqual([]);

  await teammate.close();
  await outsider.close();
});

test("the team picker needs a team, and the server's refusal is shown in the form", async ({
  page,
  lab,
  openLab
}) => {
  const api = await SidecarApi.connect(lab);
  const bob = await api.signUp('bob', 'Bob Babbage');

  await openLab();
  await page.getByTestId('insighter-login-email').fill(bob.email);
  await page.getByTestId('insighter-login-password').fill(PASSWORD);
  await page.getByTestId('insighter-login-submit').click();
  await expect(page.getByTestId('insighter-welcome')).toHaveText(
    'Welcome back, Bob'
  );

  // No team yet: the picker is off and says where teams are made.
  await page.getByTestId('insighter-new-project').click();
  await page.getByTestId('insighter-project-name').fill('Shared forecasting');
  await page.getByTestId('insighter-project-visibility').selectOption('team');
  await expect(page.getByTestId('insighter-project-team')).toBeDisabled();
  await expect(page.getByTestId('insighter-project-team-hint')).toContainText(
    'Settings → Teams'
  );
  await page.getByTestId('insighter-project-submit').click();
  await expect(page.getByTestId('insighter-project-error')).toContainText(
    'create a team in Settings → Teams'
  );
  await page.getByTestId('insighter-project-cancel').click();
  await expect(page.locator('.jp-insighter-NewProjectDialog')).toHaveCount(0);

  // A team that is gone by the time the form is sent: the sidecar refuses, the form says why.
  const team = await api.call<ITeam>('POST', 'api/v1/teams', bob.token, {
    name: 'Short-lived'
  });
  await page.getByTestId('insighter-new-project').click();
  await page.getByTestId('insighter-project-name').fill('Shared forecasting');
  await page.getByTestId('insighter-project-visibility').selectOption('team');
  await expect(page.getByTestId('insighter-project-team')).toHaveValue(team.id);
  await api.call('DELETE', `api/v1/teams/${team.id}`, bob.token);
  await page.getByTestId('insighter-project-submit').click();
  await expect(page.getByTestId('insighter-project-error')).toHaveText(
    'You are not a member of that team.'
  );
  await expect(page.locator('.jp-insighter-NewProjectDialog')).toBeVisible();

  // Private instead: created, and on the dashboard behind the Studio.
  await page
    .getByTestId('insighter-project-visibility')
    .selectOption('private');
  await page.getByTestId('insighter-project-submit').click();
  await expect(
    page
      .locator('.jp-insighter-Studio')
      .getByTestId('insighter-studio-visibility')
  ).toHaveText('Private');
  await runCommand(page, 'insighter:open-dashboard');
  const card = page.getByTestId('insighter-project-card');
  await expect(card).toHaveCount(1);
  await expect(
    card.getByTestId('insighter-project-card-visibility')
  ).toHaveText('Private');
  await expect(
    card.getByTestId('insighter-project-card-activity')
  ).toContainText('Last activity');
});
