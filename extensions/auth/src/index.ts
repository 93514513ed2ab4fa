import { IInsighterBus, ISession, ISidecarClient } from '@insighter/core';
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { homeIcon, userIcon, usersIcon } from '@jupyterlab/ui-components';
import { AccountModel } from './accountmodel';
import { CommandIDs, ExternalCommandIDs } from './commands';
import { mailIcon } from './icons';
import { KernelSessionSync } from './kernelsession';
import { SingleView } from './mainarea';
import { OutboxModel } from './outboxmodel';
import { ProfileModel } from './profilemodel';
import { SessionModel } from './sessionmodel';
import { RememberMeStorage, webStorage } from './storage';
import { TeamsModel } from './teamsmodel';
import { IAccountSession } from './tokens';
import { HomeView } from './widgets/homeview';
import { OutboxView } from './widgets/outboxview';
import { ProfileView } from './widgets/profileview';
import { TeamsView } from './widgets/teamsview';

export { CommandIDs } from './commands';
export { IAccountSession } from './tokens';

/** The gettext domain of Insighter's strings. */
const DOMAIN = 'insighter';
const PALETTE_CATEGORY = 'Insighter';

const sessionPlugin: JupyterFrontEndPlugin<IAccountSession> = {
  id: '@insighter/auth:session',
  description:
    'Keeps the Insighter session (supabase-js, configured from the sidecar) across reloads, hands its token to the sidecar client and announces changes on the bus.',
  autoStart: true,
  requires: [ISidecarClient, IInsighterBus],
  optional: [ISettingRegistry],
  provides: IAccountSession,
  activate: activateSession
};

function activateSession(
  app: JupyterFrontEnd,
  client: ISidecarClient,
  bus: IInsighterBus,
  settingRegistry: ISettingRegistry | null
): IAccountSession {
  const storage = new RememberMeStorage(
    webStorage('localStorage'),
    webStorage('sessionStorage')
  );
  const session = new SessionModel({
    client,
    serverSettings: app.serviceManager.serverSettings,
    storage,
    // Mail links lead back to this very page (the lab, its workspace).
    redirectTo: `${window.location.origin}${window.location.pathname}`,
    initialUrl: window.location.href,
    clearUrlFragment: () => {
      const url = new URL(window.location.href);
      url.hash = '';
      window.history.replaceState(window.history.state, '', url.toString());
    }
  });

  client.accessTokenProvider = () => session.getAccessToken();
  session.changed.connect((_, change) => {
    if (change.reason === 'refreshed') {
      return; // Same person, new token: nothing for tools to redo.
    }
    const user = change.user;
    bus.emit({
      type: 'session.changed',
      payload: {
        user: user
          ? { id: user.id, email: user.email, fullName: user.fullName }
          : null,
        timestamp: Date.now()
      }
    });
  });

  // Preferences decide where the session is stored: read them before it is.
  const preferences = settingRegistry
    ? settingRegistry
        .load(sessionPlugin.id)
        .then(settings => {
          const apply = () => {
            session.setRememberMe(
              settings.get('rememberMe').composite as boolean
            );
            session.setAutoRefresh(
              settings.get('autoRefreshToken').composite as boolean
            );
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch(reason => {
          console.warn(`${sessionPlugin.id}: settings not loaded`, reason);
        })
    : Promise.resolve();
  void preferences.then(() => session.start());
  return session;
}

const sessionTokenPlugin: JupyterFrontEndPlugin<ISession> = {
  id: '@insighter/auth:session-token',
  description:
    'Provides the Insighter session to other tools as ISession: the user, a fresh access token, sign-out and a change signal.',
  autoStart: true,
  requires: [IAccountSession],
  provides: ISession,
  activate: activateSessionToken
};

function activateSessionToken(
  _app: JupyterFrontEnd,
  session: IAccountSession
): ISession {
  return session;
}

const kernelSessionPlugin: JupyterFrontEndPlugin<void> = {
  id: '@insighter/auth:kernel-session',
  description:
    "Hands the session's access token to the Jupyter server for kernels (the insighter Python package), renewed on refresh and withdrawn at sign-out.",
  autoStart: true,
  requires: [ISession],
  activate: activateKernelSession
};

function activateKernelSession(app: JupyterFrontEnd, session: ISession): void {
  new KernelSessionSync({
    session,
    serverSettings: app.serviceManager.serverSettings
  });
}

const homePlugin: JupyterFrontEndPlugin<void> = {
  id: '@insighter/auth:home',
  description:
    "Adds Insighter's home: log in, sign up and password reset while signed out, the welcome dashboard once signed in.",
  autoStart: true,
  requires: [IAccountSession],
  optional: [ILayoutRestorer, ICommandPalette, ILabShell, ITranslator],
  activate: activateHome
};

function activateHome(
  app: JupyterFrontEnd,
  session: IAccountSession,
  restorer: ILayoutRestorer | null,
  palette: ICommandPalette | null,
  labShell: ILabShell | null,
  translator: ITranslator | null
): void {
  const { commands, shell } = app;
  const trans = (translator ?? nullTranslator).load(DOMAIN);
  const account = new AccountModel(session, trans);
  const home = new SingleView({
    shell,
    id: 'jp-insighter-home',
    namespace: 'insighter-home',
    label: trans.__('Insighter'),
    caption: trans.__('Insighter: your account and dashboard'),
    icon: homeIcon,
    create: () => new HomeView(account, commands, trans, hasDashboard)
  });

  // Signed in, the projects dashboard (when installed) is the home; this
  // view keeps the forms and the new password a reset link asks for.
  function hasDashboard(): boolean {
    return commands.hasCommand(ExternalCommandIDs.openDashboard);
  }
  const dashboardTakesOver = () =>
    session.isLoggedIn && !session.isRecovering && hasDashboard();
  const openHome = async (): Promise<void> => {
    if (dashboardTakesOver()) {
      // What the home last said (e.g. "Your new password is set.") goes along.
      const message = account.message;
      if (home.isOpen && message?.kind === 'success') {
        Notification.success(message.text, { autoClose: 5000 });
      }
      home.close();
      await commands.execute(ExternalCommandIDs.openDashboard);
    } else {
      home.open();
    }
  };

  commands.addCommand(CommandIDs.openHome, {
    label: trans.__('Open Insighter Home'),
    caption: trans.__('Your dashboard, or log in'),
    icon: args => (args.isPalette ? undefined : homeIcon),
    execute: () => openHome()
  });
  // Each signed-out form of the home view is a command of its own.
  const accountForms = [
    [CommandIDs.login, 'login', trans.__('Log In to Insighter')],
    [CommandIDs.signup, 'signup', trans.__('Sign Up for Insighter')],
    [CommandIDs.forgotPassword, 'forgot', trans.__('Reset Insighter Password')]
  ] as const;
  for (const [id, form, label] of accountForms) {
    commands.addCommand(id, {
      label,
      isEnabled: () => !session.isLoggedIn,
      execute: () => {
        account.show(form);
        home.open();
      }
    });
  }
  commands.addCommand(CommandIDs.logout, {
    label: trans.__('Log Out of Insighter'),
    isEnabled: () => session.isLoggedIn,
    execute: () => session.signOut()
  });

  // Logging in on the form, or setting the new password after a reset link,
  // leads on to the dashboard once the form is done (its message goes
  // along). The session read at start-up is handled once the layout is
  // restored, below.
  const handOver = () => {
    if (
      session.status === 'ready' &&
      !account.busy &&
      home.isOpen &&
      dashboardTakesOver()
    ) {
      void openHome();
    }
  };
  account.changed.connect(handOver);
  session.stateChanged.connect(() => {
    for (const id of [
      CommandIDs.login,
      CommandIDs.signup,
      CommandIDs.forgotPassword,
      CommandIDs.logout
    ]) {
      commands.notifyCommandChanged(id);
    }
    handOver();
  });
  session.changed.connect((_, change) => {
    // Whoever signs out lands on the login form, wherever they signed out.
    if (change.reason === 'signed-out') {
      home.open();
    }
  });

  if (restorer) {
    void restorer.restore(home.tracker, {
      command: CommandIDs.openHome,
      name: () => 'home'
    });
  }
  // Greet on start: the login form when signed out, the outcome of a mail
  // link that brought the person here, else the dashboard if nothing else
  // fills the main area.
  void Promise.all([app.restored, session.ready]).then(() => {
    const mainIsEmpty = !labShell || labShell.isEmpty('main');
    if (
      !session.isLoggedIn ||
      session.isRecovering ||
      session.linkOutcome !== null ||
      mainIsEmpty ||
      (home.isOpen && dashboardTakesOver())
    ) {
      void openHome();
    }
  });

  palette?.addItem({
    command: CommandIDs.openHome,
    category: PALETTE_CATEGORY
  });
  for (const command of [
    CommandIDs.login,
    CommandIDs.signup,
    CommandIDs.forgotPassword,
    CommandIDs.logout
  ]) {
    palette?.addItem({ command, category: PALETTE_CATEGORY });
  }
}

const outboxPlugin: JupyterFrontEndPlugin<void> = {
  id: '@insighter/auth:outbox',
  description:
    'Adds the mail outbox: the confirmation and reset mail Insighter sends when no mail server is configured.',
  autoStart: true,
  requires: [IAccountSession, ISidecarClient],
  optional: [ISettingRegistry, ILayoutRestorer, ICommandPalette, ITranslator],
  activate: activateOutbox
};

function activateOutbox(
  app: JupyterFrontEnd,
  session: IAccountSession,
  client: ISidecarClient,
  settingRegistry: ISettingRegistry | null,
  restorer: ILayoutRestorer | null,
  palette: ICommandPalette | null,
  translator: ITranslator | null
): void {
  const { commands, shell } = app;
  const trans = (translator ?? nullTranslator).load(DOMAIN);
  const model = new OutboxModel({ client });
  const outbox = new SingleView({
    shell,
    id: 'jp-insighter-outbox',
    namespace: 'insighter-outbox',
    label: trans.__('Mail Outbox'),
    caption: trans.__(
      'Mail Insighter sent: confirmation and password reset links'
    ),
    icon: mailIcon,
    create: () => new OutboxView(model, trans)
  });

  commands.addCommand(CommandIDs.openOutbox, {
    label: trans.__('Open Mail Outbox'),
    caption: trans.__(
      'Mail Insighter sent: confirmation and password reset links'
    ),
    icon: args => (args.isPalette ? undefined : mailIcon),
    // Only embedded auth keeps mail; a hosted Supabase project sends it.
    isEnabled: () => session.status !== 'ready' || session.hasOutbox,
    execute: () => outbox.open()
  });
  session.stateChanged.connect(() =>
    commands.notifyCommandChanged(CommandIDs.openOutbox)
  );

  settingRegistry
    ?.load(outboxPlugin.id)
    .then(settings => {
      const apply = () => {
        model.pollInterval = settings.get('pollInterval').composite as number;
      };
      apply();
      settings.changed.connect(apply);
    })
    .catch(reason => {
      console.warn(`${outboxPlugin.id}: settings not loaded`, reason);
    });

  if (restorer) {
    void restorer.restore(outbox.tracker, {
      command: CommandIDs.openOutbox,
      name: () => 'outbox'
    });
  }
  palette?.addItem({
    command: CommandIDs.openOutbox,
    category: PALETTE_CATEGORY
  });
}

const accountSettingsPlugin: JupyterFrontEndPlugin<void> = {
  id: '@insighter/auth:account-settings',
  description:
    'Adds Settings → Profile (full name, password, preferences) and Settings → Teams (members, roles, invitations).',
  autoStart: true,
  requires: [IAccountSession, ISidecarClient],
  optional: [ILayoutRestorer, ICommandPalette, ITranslator],
  activate: activateAccountSettings
};

function activateAccountSettings(
  app: JupyterFrontEnd,
  session: IAccountSession,
  client: ISidecarClient,
  restorer: ILayoutRestorer | null,
  palette: ICommandPalette | null,
  translator: ITranslator | null
): void {
  const { commands, shell } = app;
  const trans = (translator ?? nullTranslator).load(DOMAIN);
  const profileModel = new ProfileModel(session, trans);
  const teamsModel = new TeamsModel({ client, session, trans });

  const openPreferences = () =>
    void commands.execute(ExternalCommandIDs.openSettingEditor, {
      query: 'Insighter'
    });
  const confirm = async (question: string): Promise<boolean> => {
    const result = await showDialog({
      title: trans.__('Teams'),
      body: question,
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.warnButton({ label: trans.__('Yes') })
      ]
    });
    return result.button.accept;
  };

  const profile = new SingleView({
    shell,
    id: 'jp-insighter-profile',
    namespace: 'insighter-profile',
    label: trans.__('Profile'),
    caption: trans.__('Settings → Profile: your name and password'),
    icon: userIcon,
    create: () =>
      new ProfileView(
        profileModel,
        trans,
        commands.hasCommand(ExternalCommandIDs.openSettingEditor)
          ? openPreferences
          : null
      )
  });
  const teams = new SingleView({
    shell,
    id: 'jp-insighter-teams',
    namespace: 'insighter-teams',
    label: trans.__('Teams'),
    caption: trans.__('Settings → Teams: members, roles and invitations'),
    icon: usersIcon,
    create: () => new TeamsView(teamsModel, trans, confirm)
  });

  commands.addCommand(CommandIDs.openProfile, {
    label: trans.__('Open Profile Settings'),
    caption: trans.__('Your name, password and account preferences'),
    icon: args => (args.isPalette ? undefined : userIcon),
    execute: () => profile.open()
  });
  commands.addCommand(CommandIDs.openTeams, {
    label: trans.__('Open Team Settings'),
    caption: trans.__('Create teams, invite people, change roles'),
    icon: args => (args.isPalette ? undefined : usersIcon),
    execute: () => teams.open()
  });

  if (restorer) {
    void restorer.restore(profile.tracker, {
      command: CommandIDs.openProfile,
      name: () => 'profile'
    });
    void restorer.restore(teams.tracker, {
      command: CommandIDs.openTeams,
      name: () => 'teams'
    });
  }
  for (const command of [CommandIDs.openProfile, CommandIDs.openTeams]) {
    palette?.addItem({ command, category: PALETTE_CATEGORY });
  }
}

/** Every plugin of the package, for `registerPlugins` / the extension loader. */
const plugins: JupyterFrontEndPlugin<unknown>[] = [
  sessionPlugin,
  sessionTokenPlugin,
  kernelSessionPlugin,
  homePlugin,
  outboxPlugin,
  accountSettingsPlugin
];

export default plugins;
