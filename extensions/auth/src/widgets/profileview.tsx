import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';
import type { ProfileModel } from '../profilemodel';
import { Field, Form, Message } from './components';

/**
 * Settings → Profile: the signed-in person's full name and password, and
 * the way to the account preferences in JupyterLab's settings editor.
 */
export class ProfileView extends ReactWidget {
  constructor(
    private readonly _model: ProfileModel,
    private readonly _trans: TranslationBundle,
    private readonly _openPreferences: (() => void) | null
  ) {
    super();
    this.addClass('jp-insighter-View');
    this.addClass('jp-insighter-ProfileView');
    this._model.changed.connect(this.update, this);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this.update, this);
    super.dispose();
  }

  protected render(): React.ReactElement {
    const trans = this._trans;
    const user = this._model.session.user;
    return (
      <div className="jp-insighter-View-body">
        <h2 className="jp-insighter-View-title">{trans.__('Profile')}</h2>
        {user ? (
          // Keyed by user: another sign-in starts with that person's name.
          <ProfileForms
            key={user.id}
            model={this._model}
            trans={trans}
            openPreferences={this._openPreferences}
          />
        ) : (
          <p className="jp-insighter-Muted">
            {trans.__('Log in to edit your profile.')}
          </p>
        )}
      </div>
    );
  }
}

function ProfileForms(props: {
  model: ProfileModel;
  trans: TranslationBundle;
  openPreferences: (() => void) | null;
}): React.ReactElement {
  const { model, trans } = props;
  const user = model.session.user!;
  const [fullName, setFullName] = React.useState(user.fullName);
  const [password, setPassword] = React.useState('');
  const [confirm, setConfirm] = React.useState('');
  const nameForm = model.form('name');
  const passwordForm = model.form('password');
  return (
    <>
      <section
        className="jp-insighter-Section"
        aria-labelledby="jp-insighter-profile-name"
      >
        <h3 id="jp-insighter-profile-name">{trans.__('Your name')}</h3>
        <dl className="jp-insighter-About">
          <dt>{trans.__('Email')}</dt>
          <dd data-testid="insighter-profile-email">{user.email}</dd>
        </dl>
        <Message
          testId="insighter-profile-message"
          message={nameForm.message}
        />
        <Form
          label={trans.__('Your name')}
          busy={nameForm.busy}
          onSubmit={() => void model.saveName(fullName)}
        >
          <Field
            id="jp-insighter-profile-fullname"
            label={trans.__('Full name')}
            type="text"
            autoComplete="name"
            value={fullName}
            onChange={setFullName}
            error={nameForm.errors.fullName}
            testId="insighter-profile-name"
          />
          <div className="jp-insighter-FormActions">
            <button
              type="submit"
              className="jp-mod-styled jp-mod-accept"
              disabled={nameForm.busy}
              data-testid="insighter-profile-save"
            >
              {trans.__('Save name')}
            </button>
          </div>
        </Form>
      </section>
      <section
        className="jp-insighter-Section"
        aria-labelledby="jp-insighter-profile-password"
      >
        <h3 id="jp-insighter-profile-password">{trans.__('Password')}</h3>
        <Message
          testId="insighter-password-message"
          message={passwordForm.message}
        />
        <Form
          label={trans.__('Change password')}
          busy={passwordForm.busy}
          onSubmit={() =>
            void model.changePassword({ password, confirm }).then(ok => {
              if (ok) {
                setPassword('');
                setConfirm('');
              }
            })
          }
        >
          <Field
            id="jp-insighter-profile-new-password"
            label={trans.__('New password')}
            type="password"
            autoComplete="new-password"
            value={password}
            onChange={setPassword}
            error={passwordForm.errors.password}
            testId="insighter-profile-password"
          />
          <Field
            id="jp-insighter-profile-confirm-password"
            label={trans.__('Confirm new password')}
            type="password"
            autoComplete="new-password"
            value={confirm}
            onChange={setConfirm}
            error={passwordForm.errors.confirm}
            testId="insighter-profile-confirm"
          />
          <div className="jp-insighter-FormActions">
            <button
              type="submit"
              className="jp-mod-styled jp-mod-accept"
              disabled={passwordForm.busy}
              data-testid="insighter-profile-change-password"
            >
              {trans.__('Change password')}
            </button>
          </div>
        </Form>
      </section>
      {props.openPreferences && (
        <section
          className="jp-insighter-Section"
          aria-labelledby="jp-insighter-profile-preferences"
        >
          <h3 id="jp-insighter-profile-preferences">
            {trans.__('Preferences')}
          </h3>
          <p className="jp-insighter-Hint">
            {trans.__(
              'Whether to stay logged in after the browser closes, token refresh and outbox checks live in the settings editor.'
            )}
          </p>
          <button
            type="button"
            className="jp-mod-styled"
            onClick={props.openPreferences}
          >
            {trans.__('Open account preferences')}
          </button>
        </section>
      )}
    </>
  );
}
