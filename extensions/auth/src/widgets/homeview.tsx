import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import * as React from 'react';
import type { AccountModel } from '../accountmodel';
import { CommandIDs, ExternalCommandIDs } from '../commands';
import { Field, Form, LinkButton, Message } from './components';

/** The class of the home view's content (its tab's id is `jp-insighter-home`). */
export const HOME_VIEW_CLASS = 'jp-insighter-HomeView';

interface IViewProps {
  model: AccountModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
  /** True once a dashboard tool (projects) is the signed-in home instead. */
  hasDashboard: () => boolean;
}

/**
 * Insighter's home: signed out, the account forms (log in, sign up, forgot
 * password); after a reset link, "Set new password"; signed in, the
 * dashboard that greets the person. Renders the account model only.
 */
export class HomeView extends ReactWidget {
  constructor(
    private readonly _model: AccountModel,
    private readonly _commands: CommandRegistry,
    private readonly _trans: TranslationBundle,
    private readonly _hasDashboard: () => boolean = () => false
  ) {
    super();
    this.addClass('jp-insighter-View');
    this.addClass(HOME_VIEW_CLASS);
    this._model.changed.connect(this._onChange, this);
    this._model.session.stateChanged.connect(this._onChange, this);
    this._onChange();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this._onChange, this);
    this._model.session.stateChanged.disconnect(this._onChange, this);
    super.dispose();
  }

  protected render(): React.ReactElement {
    return (
      <div className="jp-insighter-View-body">
        <HomeContent
          model={this._model}
          commands={this._commands}
          trans={this._trans}
          hasDashboard={this._hasDashboard}
        />
      </div>
    );
  }

  private _onChange(): void {
    const session = this._model.session;
    // For tests and styles: what the view shows, on the node itself.
    this.node.dataset.state = !session.isLoggedIn
      ? this._model.page
      : session.isRecovering
        ? 'recovery'
        : 'dashboard';
    this.update();
  }
}

function HomeContent(props: IViewProps): React.ReactElement {
  const { model, trans } = props;
  const session = model.session;
  if (session.status === 'starting') {
    return <p className="jp-insighter-Muted">{trans.__('Loading…')}</p>;
  }
  if (session.status === 'unavailable') {
    return (
      <div className="jp-insighter-AuthCard">
        <h2>{trans.__('Insighter')}</h2>
        <Message
          testId="insighter-auth-message"
          message={{
            kind: 'error',
            text:
              session.startError ??
              trans.__('The Insighter service did not answer.')
          }}
        />
        <button
          type="button"
          className="jp-mod-styled jp-mod-accept"
          onClick={() => void session.retry()}
        >
          {trans.__('Try again')}
        </button>
      </div>
    );
  }
  if (session.isLoggedIn && session.isRecovering) {
    return <NewPasswordForm {...props} />;
  }
  if (session.isLoggedIn && props.hasDashboard()) {
    return <DashboardLink {...props} />;
  }
  if (session.isLoggedIn) {
    return <Dashboard {...props} />;
  }
  switch (model.page) {
    case 'signup':
      return <SignUpForm {...props} />;
    case 'forgot':
      return <ForgotPasswordForm {...props} />;
    case 'verify':
      return <VerifyEmail {...props} />;
    default:
      return <LogInForm {...props} />;
  }
}

function LogInForm({ model, trans }: IViewProps): React.ReactElement {
  const [email, setEmail] = React.useState(model.email);
  const [password, setPassword] = React.useState('');
  return (
    <div className="jp-insighter-AuthCard" data-insighter-form="login">
      <h2>{trans.__('Log in to Insighter')}</h2>
      <Message testId="insighter-auth-message" message={model.message} />
      <Form
        label={trans.__('Log in')}
        busy={model.busy}
        onSubmit={() => void model.logIn({ email, password })}
      >
        <Field
          id="jp-insighter-login-email"
          label={trans.__('Email')}
          type="email"
          autoComplete="username"
          autoFocus
          value={email}
          onChange={setEmail}
          error={model.errors.email}
          testId="insighter-login-email"
        />
        <Field
          id="jp-insighter-login-password"
          label={trans.__('Password')}
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={setPassword}
          error={model.errors.password}
          testId="insighter-login-password"
        />
        <div className="jp-insighter-FormActions">
          <button
            type="submit"
            className="jp-mod-styled jp-mod-accept"
            disabled={model.busy}
            data-testid="insighter-login-submit"
          >
            {model.busy ? trans.__('Logging in…') : trans.__('Log in')}
          </button>
          <LinkButton
            testId="insighter-forgot-password"
            onClick={() => model.show('forgot')}
          >
            {trans.__('Forgot password?')}
          </LinkButton>
        </div>
      </Form>
      <p className="jp-insighter-Switch">
        {trans.__('New to Insighter?')}{' '}
        <LinkButton
          testId="insighter-show-signup"
          onClick={() => model.show('signup')}
        >
          {trans.__('Sign up')}
        </LinkButton>
      </p>
    </div>
  );
}

function SignUpForm({ model, trans }: IViewProps): React.ReactElement {
  const [fullName, setFullName] = React.useState('');
  const [email, setEmail] = React.useState(model.email);
  const [password, setPassword] = React.useState('');
  const [confirm, setConfirm] = React.useState('');
  return (
    <div className="jp-insighter-AuthCard" data-insighter-form="signup">
      <h2>{trans.__('Create your Insighter account')}</h2>
      <Message testId="insighter-auth-message" message={model.message} />
      <Form
        label={trans.__('Sign up')}
        busy={model.busy}
        onSubmit={() =>
          void model.signUp({ fullName, email, password, confirm })
        }
      >
        <Field
          id="jp-insighter-signup-name"
          label={trans.__('Full name')}
          type="text"
          autoComplete="name"
          autoFocus
          value={fullName}
          onChange={setFullName}
          error={model.errors.fullName}
          testId="insighter-signup-name"
        />
        <Field
          id="jp-insighter-signup-email"
          label={trans.__('Email')}
          type="email"
          autoComplete="email"
          value={email}
          onChange={setEmail}
          error={model.errors.email}
          testId="insighter-signup-email"
        />
        <Field
          id="jp-insighter-signup-password"
          label={trans.__('Password')}
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={setPassword}
          error={model.errors.password}
          testId="insighter-signup-password"
        />
        {!model.errors.password && (
          <p className="jp-insighter-Hint">
            {trans.__('At least 8 characters, with letters and digits.')}
          </p>
        )}
        <Field
          id="jp-insighter-signup-confirm"
          label={trans.__('Confirm password')}
          type="password"
          autoComplete="new-password"
          value={confirm}
          onChange={setConfirm}
          error={model.errors.confirm}
          testId="insighter-signup-confirm"
        />
        <div className="jp-insighter-FormActions">
          <button
            type="submit"
            className="jp-mod-styled jp-mod-accept"
            disabled={model.busy}
            data-testid="insighter-signup-submit"
          >
            {model.busy ? trans.__('Signing up…') : trans.__('Sign up')}
          </button>
        </div>
      </Form>
      <p className="jp-insighter-Switch">
        {trans.__('Already have an account?')}{' '}
        <LinkButton
          testId="insighter-show-login"
          onClick={() => model.show('login')}
        >
          {trans.__('Log in')}
        </LinkButton>
      </p>
    </div>
  );
}

function VerifyEmail({
  model,
  commands,
  trans
}: IViewProps): React.ReactElement {
  return (
    <div className="jp-insighter-AuthCard" data-insighter-form="verify">
      <h2>{trans.__('Check your email')}</h2>
      <Message testId="insighter-auth-message" message={model.message} />
      <div className="jp-insighter-FormActions">
        {model.session.hasOutbox && (
          <button
            type="button"
            className="jp-mod-styled jp-mod-accept"
            data-testid="insighter-open-outbox"
            onClick={() => void commands.execute(CommandIDs.openOutbox)}
          >
            {trans.__('Open mail outbox')}
          </button>
        )}
        <LinkButton
          testId="insighter-show-login"
          onClick={() => model.show('login')}
        >
          {trans.__('Back to log in')}
        </LinkButton>
      </div>
      {model.session.hasOutbox && (
        <p className="jp-insighter-Hint">
          {trans.__(
            'Insighter runs without a mail server here: mail it sends waits in the outbox.'
          )}
        </p>
      )}
    </div>
  );
}

function ForgotPasswordForm({ model, trans }: IViewProps): React.ReactElement {
  const [email, setEmail] = React.useState(model.email);
  return (
    <div className="jp-insighter-AuthCard" data-insighter-form="forgot">
      <h2>{trans.__('Reset your password')}</h2>
      <p className="jp-insighter-Hint">
        {trans.__(
          'Enter your email: we send you a link to choose a new password.'
        )}
      </p>
      <Message testId="insighter-auth-message" message={model.message} />
      <Form
        label={trans.__('Reset password')}
        busy={model.busy}
        onSubmit={() => void model.requestPasswordReset(email)}
      >
        <Field
          id="jp-insighter-forgot-email"
          label={trans.__('Email')}
          type="email"
          autoComplete="email"
          autoFocus
          value={email}
          onChange={setEmail}
          error={model.errors.email}
          testId="insighter-forgot-email"
        />
        <div className="jp-insighter-FormActions">
          <button
            type="submit"
            className="jp-mod-styled jp-mod-accept"
            disabled={model.busy}
            data-testid="insighter-forgot-submit"
          >
            {trans.__('Send reset link')}
          </button>
          <LinkButton
            testId="insighter-show-login"
            onClick={() => model.show('login')}
          >
            {trans.__('Back to log in')}
          </LinkButton>
        </div>
      </Form>
    </div>
  );
}

function NewPasswordForm({ model, trans }: IViewProps): React.ReactElement {
  const [password, setPassword] = React.useState('');
  const [confirm, setConfirm] = React.useState('');
  return (
    <div className="jp-insighter-AuthCard" data-insighter-form="recovery">
      <h2>{trans.__('Set a new password')}</h2>
      <p className="jp-insighter-Hint">
        {trans.__(
          'Signed in as %1 from your reset link.',
          model.session.user?.email ?? ''
        )}
      </p>
      <Message testId="insighter-auth-message" message={model.message} />
      <Form
        label={trans.__('Set new password')}
        busy={model.busy}
        onSubmit={() => void model.setNewPassword({ password, confirm })}
      >
        <Field
          id="jp-insighter-recovery-password"
          label={trans.__('New password')}
          type="password"
          autoComplete="new-password"
          autoFocus
          value={password}
          onChange={setPassword}
          error={model.errors.password}
          testId="insighter-recovery-password"
        />
        <Field
          id="jp-insighter-recovery-confirm"
          label={trans.__('Confirm new password')}
          type="password"
          autoComplete="new-password"
          value={confirm}
          onChange={setConfirm}
          error={model.errors.confirm}
          testId="insighter-recovery-confirm"
        />
        <div className="jp-insighter-FormActions">
          <button
            type="submit"
            className="jp-mod-styled jp-mod-accept"
            disabled={model.busy}
            data-testid="insighter-recovery-submit"
          >
            {trans.__('Set new password')}
          </button>
        </div>
      </Form>
    </div>
  );
}

/**
 * Signed in with the projects dashboard installed: the greeting lives there
 * (one greeting on the page), this tab only points to it.
 */
function DashboardLink({
  model,
  commands,
  trans
}: IViewProps): React.ReactElement {
  return (
    <div className="jp-insighter-Dashboard">
      <Message testId="insighter-auth-message" message={model.message} />
      <p className="jp-insighter-Muted">
        {trans.__('Signed in as %1', model.session.user?.email ?? '')}
      </p>
      <button
        type="button"
        className="jp-mod-styled jp-mod-accept"
        onClick={() => void commands.execute(ExternalCommandIDs.openDashboard)}
      >
        {trans.__('Open the dashboard')}
      </button>
    </div>
  );
}

function Dashboard({ model, commands, trans }: IViewProps): React.ReactElement {
  const user = model.session.user!;
  return (
    <div className="jp-insighter-Dashboard">
      <h2 className="jp-insighter-Welcome" data-testid="insighter-welcome">
        {trans.__('Welcome back, %1', user.firstName)}
      </h2>
      <Message testId="insighter-auth-message" message={model.message} />
      <p className="jp-insighter-Muted" data-testid="insighter-signed-in-as">
        {trans.__('Signed in as %1', user.email)}
      </p>
      <div className="jp-insighter-FormActions">
        <button
          type="button"
          className="jp-mod-styled"
          onClick={() => void commands.execute(CommandIDs.openProfile)}
        >
          {trans.__('Profile')}
        </button>
        <button
          type="button"
          className="jp-mod-styled"
          onClick={() => void commands.execute(CommandIDs.openTeams)}
        >
          {trans.__('Teams')}
        </button>
      </div>
    </div>
  );
}
