/**
 * @jest-environment jsdom
 */
import type {
  ISession,
  ISessionChangedArgs,
  ISessionProfile
} from '@insighter/core';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { nullTranslator } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { PromiseDelegate } from '@lumino/coreutils';
import { MessageLoop } from '@lumino/messaging';
import { Signal } from '@lumino/signaling';
import { BoxLayout, Widget } from '@lumino/widgets';
import { ExternalCommandIDs } from '../src/commands';
import { VIEW_NAMES, viewInfos } from '../src/navigation';
import { guardView } from '../src/widgets/sessiongate';
import { Sidebar } from '../src/widgets/sidebar';

const trans = nullTranslator.load('insighter');

const ADA: ISessionProfile = {
  id: 'a1',
  email: 'ada@example.com',
  fullName: 'Ada Lovelace',
  firstName: 'Ada'
};

/** A session whose state the test sets (the real one needs a sidecar). */
class SessionDouble implements ISession {
  readonly started = new PromiseDelegate<void>();
  readonly changed: Signal<ISession, ISessionChangedArgs> = new Signal(this);
  user: ISessionProfile | null = null;
  signedOut = 0;

  get ready(): Promise<void> {
    return this.started.promise;
  }
  get isLoggedIn(): boolean {
    return this.user !== null;
  }
  get accessToken(): string | null {
    return this.user ? 'token' : null;
  }
  async getAccessToken(): Promise<string | null> {
    return this.accessToken;
  }
  async signOut(): Promise<void> {
    this.signedOut++;
    this.set(null);
  }
  set(user: ISessionProfile | null): void {
    this.user = user;
    this.changed.emit({ user, reason: user ? 'signed-in' : 'signed-out' });
  }
}

async function rendered(widget: ReactWidget): Promise<void> {
  MessageLoop.sendMessage(widget, Widget.Msg.UpdateRequest);
  await widget.renderPromise;
}

/**
 * The element once React has committed it. `renderPromise` settles on an
 * idle callback that a loaded machine may run before React's own commit,
 * so one render is not proof: render again until it is there (≤ 5 s).
 */
async function renderedWith(
  widget: ReactWidget,
  selector: string
): Promise<HTMLElement | null> {
  const deadline = Date.now() + 5000;
  for (;;) {
    await rendered(widget);
    const found = widget.node.querySelector<HTMLElement>(selector);
    if (found || Date.now() > deadline) {
      return found;
    }
    await new Promise(resolve => setTimeout(resolve, 10));
  }
}

function accountCommands(ran: string[]): CommandRegistry {
  const commands = new CommandRegistry();
  for (const id of [
    ExternalCommandIDs.login,
    ExternalCommandIDs.signup,
    ExternalCommandIDs.logout
  ]) {
    commands.addCommand(id, { execute: () => void ran.push(id) });
  }
  return commands;
}

describe('Sidebar with a session', () => {
  it('offers log-in while signed out, the user and log-out once signed in', async () => {
    const ran: string[] = [];
    const session = new SessionDouble();
    const infos = viewInfos(trans);
    const sidebar = new Sidebar(
      VIEW_NAMES.map(name => infos[name]),
      accountCommands(ran),
      trans,
      session
    );
    Widget.attach(sidebar, document.body);
    await rendered(sidebar);
    // Before the session is known: neither navigation nor the prompt.
    expect(sidebar.node.querySelector('[data-insighter-nav]')).toBeNull();
    expect(
      sidebar.node.querySelector('[data-testid="insighter-signin-prompt"]')
    ).toBeNull();

    session.started.resolve();
    await session.ready;
    const prompt = await renderedWith(
      sidebar,
      '[data-testid="insighter-signin-prompt"]'
    );
    expect(prompt?.textContent).toContain(
      'Log in or sign up to use Insighter.'
    );
    expect(sidebar.node.querySelector('[data-insighter-nav]')).toBeNull();
    (
      prompt!.querySelector('[data-insighter-action="login"]') as HTMLElement
    ).click();
    (
      prompt!.querySelector('[data-insighter-action="signup"]') as HTMLElement
    ).click();

    session.set(ADA);
    const account = await renderedWith(
      sidebar,
      '[data-testid="insighter-account"]'
    );
    expect(account?.textContent).toContain('Ada Lovelace');
    expect(account?.textContent).toContain('ada@example.com');
    expect(sidebar.node.querySelectorAll('[data-insighter-nav]')).toHaveLength(
      6
    );
    (
      sidebar.node.querySelector(
        '[data-testid="insighter-logout"]'
      ) as HTMLElement
    ).click();
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(ran).toEqual([
      ExternalCommandIDs.login,
      ExternalCommandIDs.signup,
      ExternalCommandIDs.logout
    ]);
    sidebar.dispose();
  });
});

describe('guardView', () => {
  it('shows a view only to a signed-in person', async () => {
    const session = new SessionDouble();
    const content = new Widget();
    const panel = new MainAreaWidget({ content });
    guardView(panel, session, accountCommands([]), trans);
    Widget.attach(panel, document.body);
    const prompt = () =>
      panel.contentHeader.widgets[panel.contentHeader.widgets.length - 1];

    expect(content.isHidden).toBe(true);
    expect(prompt().isHidden).toBe(true);

    session.started.resolve();
    await session.ready;
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(content.isHidden).toBe(true);
    expect(prompt().isHidden).toBe(false);
    expect(BoxLayout.getStretch(panel.contentHeader)).toBe(1);

    session.set(ADA);
    expect(content.isHidden).toBe(false);
    expect(prompt().isHidden).toBe(true);
    expect(BoxLayout.getStretch(panel.contentHeader)).toBe(0);

    session.set(null);
    expect(content.isHidden).toBe(true);
    expect(prompt().isHidden).toBe(false);
    panel.dispose();
  });
});
