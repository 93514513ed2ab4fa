import type { ISession } from '@insighter/core';
import { MainAreaWidget } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import { BoxLayout } from '@lumino/widgets';
import * as React from 'react';
import { ExternalCommandIDs } from '../commands';

/** "Log in or sign up": what a signed-out person sees instead of a view. */
export function SignInPrompt(props: {
  commands: CommandRegistry;
  trans: TranslationBundle;
}): React.ReactElement {
  const { commands, trans } = props;
  return (
    <div
      className="jp-insighter-SignInPrompt"
      data-testid="insighter-signin-prompt"
    >
      <p className="jp-insighter-SignInPrompt-text">
        {trans.__('Log in or sign up to use Insighter.')}
      </p>
      <div className="jp-insighter-SignInPrompt-actions">
        <button
          type="button"
          className="jp-mod-styled jp-mod-accept"
          data-insighter-action="login"
          onClick={() => void commands.execute(ExternalCommandIDs.login)}
        >
          {trans.__('Log in')}
        </button>
        <button
          type="button"
          className="jp-mod-styled"
          data-insighter-action="signup"
          onClick={() => void commands.execute(ExternalCommandIDs.signup)}
        >
          {trans.__('Sign up')}
        </button>
      </div>
    </div>
  );
}

/**
 * Shows a view's content only to a signed-in person: otherwise the sign-in
 * prompt stands in its place. Nothing shows until the session is known, so
 * a reload does not flash the prompt at someone who is signed in.
 */
export function guardView(
  widget: MainAreaWidget,
  session: ISession,
  commands: CommandRegistry,
  trans: TranslationBundle
): void {
  const prompt = ReactWidget.create(
    <SignInPrompt commands={commands} trans={trans} />
  );
  prompt.addClass('jp-insighter-View');
  widget.contentHeader.addWidget(prompt);
  let known = false;
  const sync = () => {
    if (widget.isDisposed) {
      return;
    }
    const open = known && session.isLoggedIn;
    prompt.setHidden(!known || open);
    widget.content.setHidden(!open);
    // The header takes the content's place (as MainAreaWidget's own error does).
    BoxLayout.setStretch(widget.contentHeader, open ? 0 : 1);
  };
  sync();
  void session.ready.then(() => {
    known = true;
    sync();
  });
  session.changed.connect(sync);
  widget.disposed.connect(() => session.changed.disconnect(sync));
}
