/**
 * Issue 3 acceptance: inside Insighter Lab a person signs up, confirms the
 * address from the mail in the outbox, logs in, is greeted by first name,
 * stays logged in across a reload and logs out — against the real sidecar
 * behind the Jupyter proxy. Also: the forgotten-password flow end to end,
 * and Settings → Teams (issue 3, item 5) with the user's token through the proxy.
 */
import type { Page } from '@playwright/test';
import { expect, test, waitForRestored } from '../fixtures';

function uniqueEmail(name: string): string {
  return `${name}.${Date.now()}@example.com`;
}

async function runCommand(page: Page, id: string): Promise<void> {
  await page.evaluate(
    command => (window as any).jupyterapp.commands.execute(command),
    id
  );
}

/** From the outbox, open the newest mail to `email` and follow its link; the lab reloads. */
async function followMailLink(
  page: Page,
  email: string,
  subject: RegExp
): Promise<void> {
  await expect(page.locator('#jp-insighter-outbox')).toBeVisible();
  const item = page
    .getByTestId('insighter-outbox-item')
    .filter({ hasText: email })
    .filter({
      hasText: subject
    });
  await item.first().click();
  const link = page.getByTestId('insighter-outbox-link');
  await expect(link).toBeVisible();
  await link.click();
  // The sidecar verifies the token and sends the browser back to the lab,
  // with the session in the URL fragment.
  await page.waitForURL(url => url.pathname.endsWith('/lab'), {
    waitUntil: 'load'
  });
  await waitForRestored(page);
}

/** The layout restorer's names of the tabs that greet: the account home, or the projects dashboard once it took over. */
const GREETING_TABS: Record<string, string> = {
  'jp-insighter-home': 'insighter-home:home',
  'jp-insighter-dashboard': 'insighter-dashboard:dashboard'
};

/**
 * Reload once JupyterLab has saved the layout with the greeting's tab in
 * front: it saves shortly after each change, and a reload before that
 * restores the layout as it was before.
 */
async function reloadOnceSaved(page: Page, labUrl: string): Promise<void> {
  const front = await page.evaluate(
    () => (window as any).jupyterapp.shell.currentWidget?.id ?? ''
  );
  const expected = GREETING_TABS[front];
  expect(
    expected,
    `the greeting's tab is in front, not "${front}"`
  ).toBeDefined();
  const workspace = new URL('lab/api/workspaces/default', labUrl).toString();
  await expect
    .poll(async () => {
      const saved = await (await page.request.get(workspace)).json();
      return saved?.data?.['layout-restorer:data']?.main?.current ?? '';
    })
    .toBe(expected);
  await page.reload();
  await waitForRestored(page);
}

async function logIn(
  page: Page,
  email: string,
  password: string
): Promise<void> {
  await page.getByTestId('insighter-login-email').fill(email);
  await page.getByTestId('insighter-login-password').fill(password);
  await page.getByTestId('insighter-login-submit').click();
}

async function logOutFromSidebar(page: Page): Promise<void> {
  await runCommand(page, 'insighter:show-sidebar');
  const sidebar = page.locator('#jp-insighter-sidebar');
  await expect(sidebar.getByTestId('insighter-account')).toContainText(
    'Ada Lovelace'
  );
  await sidebar.getByTestId('insighter-logout').click();
}

test('sign up, confirm from the outbox, log in, reload, log out', async ({
  page,
  lab,
  openLab,
  consoleErrors
}) => {
  const email = uniqueEmail('ada');
  const password = 'engine1843';
  const welcome = page.getByTestId('insighter-welcome');
  const message = page.getByTestId('insighter-auth-message');

  await openLab();
  // Signed out: the home opens on the login form, the sidebar asks to log in.
  await expect(page.getByTestId('insighter-login-email')).toBeVisible();
  await runCommand(page, 'insighter:show-sidebar');
  await expect(page.locator('#jp-insighter-sidebar')).toContainText(
    'Log in or sign up'
  );
  expect(consoleErrors, 'browser console errors during load').toEqual([]);

  // Sign up. Client-side checks first, as the server would make them.
  await page.getByTestId('insighter-show-signup').click();
  await page.getByTestId('insighter-signup-name').fill('Ada Lovelace');
  await page.getByTestId('insighter-signup-email').fill(email);
  await page.getByTestId('insighter-signup-password').fill('short');
  await page.getByTestId('insighter-signup-confirm').fill('short');
  await page.getByTestId('insighter-signup-submit').click();
  await expect(page.locator('#jp-insighter-signup-password-error')).toHaveText(
    'Use at least 8 characters, with letters and digits.'
  );
  await page.getByTestId('insighter-signup-password').fill(password);
  await page.getByTestId('insighter-signup-confirm').fill(password);
  await page.getByTestId('insighter-signup-submit').click();
  await expect(message).toContainText('Please verify your email');

  // The confirmation mail waits in the outbox; its link confirms and signs in.
  await page.getByTestId('insighter-open-outbox').click();
  await followMailLink(page, email, /confirm/i);
  await expect(welcome).toBeVisible();
  await expect(welcome).toHaveText('Welcome back, Ada');
  expect(consoleErrors, 'browser console errors after the mail link').toEqual(
    []
  );

  // Log out, then log in with the password.
  await logOutFromSidebar(page);
  await expect(page.getByTestId('insighter-login-email')).toBeVisible();
  await logIn(page, email, 'wrong-password1');
  await expect(message).toHaveText('Invalid login credentials');
  // The browser logs the refused attempt as a failed request, and only that.
  expect(consoleErrors).toEqual([expect.stringMatching(/status of 400/)]);
  consoleErrors.length = 0;
  await logIn(page, email, password);
  await expect(welcome).toBeVisible();
  await expect(welcome).toHaveText('Welcome back, Ada');

  // A reload keeps the session.
  await reloadOnceSaved(page, lab.url);
  await expect(welcome).toBeVisible();
  await expect(welcome).toHaveText('Welcome back, Ada');
  expect(consoleErrors, 'browser console errors after the reload').toEqual([]);

  // Log out: back to the login form, for good.
  await logOutFromSidebar(page);
  await expect(page.getByTestId('insighter-login-email')).toBeVisible();
  await expect(welcome).toHaveCount(0);
  await page.reload();
  await waitForRestored(page);
  await expect(page.getByTestId('insighter-login-email')).toBeVisible();
  await expect(welcome).toHaveCount(0);
  expect(consoleErrors).toEqual([]);
});

test('forgot password: the reset link leads to "Set new password"', async ({
  page,
  openLab,
  consoleErrors
}) => {
  const email = uniqueEmail('ada.reset');
  const message = page.getByTestId('insighter-auth-message');
  const welcome = page.getByTestId('insighter-welcome');

  await openLab();
  await page.getByTestId('insighter-show-signup').click();
  await page.getByTestId('insighter-signup-name').fill('Ada Lovelace');
  await page.getByTestId('insighter-signup-email').fill(email);
  await page.getByTestId('insighter-signup-password').fill('engine1843');
  await page.getByTestId('insighter-signup-confirm').fill('engine1843');
  await page.getByTestId('insighter-signup-submit').click();
  await expect(message).toContainText('Please verify your email');
  await page.getByTestId('insighter-open-outbox').click();
  await followMailLink(page, email, /confirm/i);
  await expect(welcome).toBeVisible();
  await expect(welcome).toHaveText('Welcome back, Ada');
  await logOutFromSidebar(page);

  await page.getByTestId('insighter-forgot-password').click();
  await page.getByTestId('insighter-forgot-email').fill(email);
  await page.getByTestId('insighter-forgot-submit').click();
  await expect(message).toContainText(
    'If an account exists, a reset link has been sent'
  );

  await runCommand(page, 'insighter:open-outbox');
  await followMailLink(page, email, /reset/i);
  await expect(page.getByTestId('insighter-recovery-password')).toBeVisible();
  await page.getByTestId('insighter-recovery-password').fill('difference1822');
  await page.getByTestId('insighter-recovery-confirm').fill('difference1822');
  await page.getByTestId('insighter-recovery-submit').click();
  await expect(welcome).toBeVisible();
  await expect(welcome).toHaveText('Welcome back, Ada');
  // On the home, or in a notification once the projects dashboard took over.
  await expect(
    page.getByText('Your new password is set.').first()
  ).toBeVisible();

  await logOutFromSidebar(page);
  await logIn(page, email, 'difference1822');
  await expect(welcome).toBeVisible();
  await expect(welcome).toHaveText('Welcome back, Ada');
  expect(consoleErrors).toEqual([]);
});

test('Settings → Teams: create a team, invite by email, withdraw', async ({
  page,
  openLab,
  consoleErrors
}) => {
  const email = uniqueEmail('ada.teams');
  const bob = uniqueEmail('bob');
  const teamsMessage = page.getByTestId('insighter-teams-message');

  await openLab();
  await page.getByTestId('insighter-show-signup').click();
  await page.getByTestId('insighter-signup-name').fill('Ada Lovelace');
  await page.getByTestId('insighter-signup-email').fill(email);
  await page.getByTestId('insighter-signup-password').fill('engine1843');
  await page.getByTestId('insighter-signup-confirm').fill('engine1843');
  await page.getByTestId('insighter-signup-submit').click();
  await page.getByTestId('insighter-open-outbox').click();
  await followMailLink(page, email, /confirm/i);
  await expect(page.getByTestId('insighter-welcome')).toBeVisible();

  // Settings, from the sidebar, leads to Teams.
  await runCommand(page, 'insighter:show-sidebar');
  await page
    .locator('#jp-insighter-sidebar [data-insighter-nav="settings"]')
    .click();
  await page.locator('[data-insighter-action="open-teams"]').click();
  const teams = page.locator('#jp-insighter-teams');
  await expect(teams).toBeVisible();
  await expect(teams).toContainText('You are not in a team yet');

  await page.getByTestId('insighter-team-name').fill('Research');
  await page.getByTestId('insighter-team-create').click();
  await expect(teamsMessage).toHaveText('Team "Research" created.');
  await expect(page.getByTestId('insighter-team-item')).toHaveText(
    /Research\s*Owner/
  );
  const members = page.getByTestId('insighter-team-member');
  await expect(members).toHaveCount(1);
  await expect(members.first()).toContainText(email);

  await page.getByTestId('insighter-invite-email').fill(bob);
  await page.getByTestId('insighter-invite-role').selectOption('viewer');
  await page.getByTestId('insighter-invite-submit').click();
  await expect(teamsMessage).toHaveText(`Invitation sent to ${bob}.`);
  const invitation = page.getByTestId('insighter-team-invitation');
  await expect(invitation).toContainText(bob);
  await expect(invitation).toContainText('Viewer');

  // Inviting the same address twice: the server's refusal, as it says it.
  await page.getByTestId('insighter-invite-email').fill(bob);
  await page.getByTestId('insighter-invite-submit').click();
  await expect(teamsMessage).toHaveAttribute('data-kind', 'error');
  await expect(teamsMessage).toHaveText(
    `${bob} already has a pending invitation to this team.`
  );
  // The browser logs the refused request, and only that.
  expect(consoleErrors).toEqual([expect.stringMatching(/status of 409/)]);
  consoleErrors.length = 0;

  await invitation.getByRole('button', { name: 'Withdraw' }).click();
  await expect(teamsMessage).toHaveText('Invitation withdrawn.');
  await expect(invitation).toHaveCount(0);
  expect(consoleErrors).toEqual([]);
});
