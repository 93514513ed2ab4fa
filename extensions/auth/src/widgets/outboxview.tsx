import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, refreshIcon } from '@jupyterlab/ui-components';
import type { Message as LuminoMessage } from '@lumino/messaging';
import * as React from 'react';
import type { OutboxModel } from '../outboxmodel';
import type { IOutboxMail, IOutboxSummary } from '../types';

/**
 * The embedded mailbox, like Supabase's local mail catcher: the mail
 * Insighter sent (confirmation and reset links), newest first, and the one
 * opened with its link clickable. Asks the model to poll only while visible.
 */
export class OutboxView extends ReactWidget {
  constructor(
    private readonly _model: OutboxModel,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-insighter-View');
    this.addClass('jp-insighter-OutboxView');
    this._model.changed.connect(this.update, this);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this.update, this);
    this._model.deactivate();
    super.dispose();
  }

  protected onAfterShow(msg: LuminoMessage): void {
    super.onAfterShow(msg);
    this._model.activate();
  }

  protected onAfterAttach(msg: LuminoMessage): void {
    super.onAfterAttach(msg);
    if (this.isVisible) {
      this._model.activate();
    }
  }

  protected onAfterHide(msg: LuminoMessage): void {
    super.onAfterHide(msg);
    this._model.deactivate();
  }

  protected onBeforeDetach(msg: LuminoMessage): void {
    this._model.deactivate();
    super.onBeforeDetach(msg);
  }

  protected render(): React.ReactElement {
    const trans = this._trans;
    const model = this._model;
    return (
      <div className="jp-insighter-View-body">
        <header className="jp-insighter-OutboxHeader">
          <h2 className="jp-insighter-View-title">{trans.__('Mail outbox')}</h2>
          <button
            type="button"
            className="jp-mod-styled jp-insighter-IconButton"
            title={trans.__('Check for new mail')}
            aria-label={trans.__('Check for new mail')}
            disabled={model.loading}
            onClick={() => void model.refresh()}
          >
            <refreshIcon.react tag="span" />
          </button>
        </header>
        <p className="jp-insighter-Hint">
          {trans.__(
            'Without a mail server, the mail Insighter sends waits here. Only you, through this Jupyter server, can read it.'
          )}
        </p>
        {model.error && (
          <p
            className="jp-insighter-Message jp-mod-error"
            role="alert"
            data-testid="insighter-outbox-error"
          >
            {model.error}
          </p>
        )}
        {model.selected ? (
          <MailView
            mail={model.selected}
            trans={trans}
            onBack={() => model.close()}
          />
        ) : (
          <MailList
            messages={model.messages}
            loaded={model.loaded}
            trans={trans}
            onOpen={id => void model.open(id)}
          />
        )}
      </div>
    );
  }
}

function MailList(props: {
  messages: readonly IOutboxSummary[];
  loaded: boolean;
  trans: TranslationBundle;
  onOpen: (id: string) => void;
}): React.ReactElement {
  const { messages, trans } = props;
  if (!props.loaded) {
    return <p className="jp-insighter-Muted">{trans.__('Loading…')}</p>;
  }
  if (messages.length === 0) {
    return (
      <p className="jp-insighter-Muted" data-testid="insighter-outbox-empty">
        {trans.__(
          'No mail yet. Sign-up confirmations and password resets show up here.'
        )}
      </p>
    );
  }
  return (
    <ul
      className="jp-insighter-MailList"
      aria-label={trans.__('Mail, newest first')}
    >
      {messages.map(mail => (
        <li key={mail.id}>
          <button
            type="button"
            className="jp-insighter-MailItem"
            data-testid="insighter-outbox-item"
            data-mail-id={mail.id}
            onClick={() => props.onOpen(mail.id)}
          >
            <span className="jp-insighter-MailItem-subject">
              {mail.subject}
            </span>
            <span className="jp-insighter-MailItem-to">{mail.to}</span>
            <time
              className="jp-insighter-MailItem-date"
              dateTime={mail.created_at}
            >
              {new Date(mail.created_at).toLocaleString()}
            </time>
          </button>
        </li>
      ))}
    </ul>
  );
}

function MailView(props: {
  mail: IOutboxMail;
  trans: TranslationBundle;
  onBack: () => void;
}): React.ReactElement {
  const { mail, trans } = props;
  return (
    <article className="jp-insighter-Mail" data-testid="insighter-outbox-mail">
      <button
        type="button"
        className="jp-insighter-LinkButton"
        data-testid="insighter-outbox-back"
        onClick={props.onBack}
      >
        {trans.__('← All mail')}
      </button>
      <h3 className="jp-insighter-Mail-subject">{mail.subject}</h3>
      <dl className="jp-insighter-Mail-meta">
        <dt>{trans.__('To')}</dt>
        <dd>{mail.to}</dd>
        <dt>{trans.__('Sent')}</dt>
        <dd>
          <time dateTime={mail.created_at}>
            {new Date(mail.created_at).toLocaleString()}
          </time>
        </dd>
      </dl>
      {mail.link && (
        <p>
          {/* Same tab: the link leads back into this lab, now signed in. */}
          <a
            className="jp-insighter-Mail-link"
            href={mail.link}
            data-testid="insighter-outbox-link"
          >
            {mail.purpose === 'recovery'
              ? trans.__('Reset your password')
              : trans.__('Confirm your email')}
          </a>
        </p>
      )}
      <pre className="jp-insighter-Mail-body">{linkify(mail.text)}</pre>
    </article>
  );
}

const URL_PATTERN = /(https?:\/\/[^\s<>"]+)/g;

/** The plain-text body with its URLs clickable; the HTML body is not injected. */
function linkify(text: string): React.ReactNode[] {
  return text.split(URL_PATTERN).map((part, index) =>
    index % 2 === 1 ? (
      <a key={index} href={part}>
        {part}
      </a>
    ) : (
      part
    )
  );
}
