import type { ISessionChangedArgs } from '@insighter/core';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import { AuthFailure, SessionModel } from './sessionmodel';
import {
  FieldErrors,
  hasErrors,
  ILogInFields,
  INewPasswordFields,
  ISignUpFields,
  emailError,
  validateLogIn,
  validateNewPassword,
  validateSignUp
} from './validation';

/** The forms of the account view while signed out. */
export type AccountPage = 'login' | 'signup' | 'forgot' | 'verify';

export type MessageKind = 'info' | 'success' | 'error';

export interface IAccountMessage {
  kind: MessageKind;
  text: string;
}

/**
 * What the account view shows: which form, its field errors, the message
 * above it and whether a request is under way. Actions validate like the
 * server does, then ask the session; the server's errors are shown as they come.
 */
export class AccountModel implements IDisposable {
  private _page: AccountPage = 'login';
  private _message: IAccountMessage | null = null;
  private _errors: FieldErrors<string> = {};
  private _busy = false;
  private _email = '';
  private _isDisposed = false;
  private readonly _changed = new Signal<this, void>(this);

  constructor(
    readonly session: SessionModel,
    private readonly _trans: TranslationBundle
  ) {
    session.stateChanged.connect(this._onSessionState, this);
    session.changed.connect(this._onSessionChanged, this);
    this._onSessionState();
  }

  get page(): AccountPage {
    return this._page;
  }

  get message(): IAccountMessage | null {
    return this._message;
  }

  /** Field name → what is wrong with it, for the form on show. */
  get errors(): FieldErrors<string> {
    return this._errors;
  }

  get busy(): boolean {
    return this._busy;
  }

  /** The email last typed into any form, to fill in the next one. */
  get email(): string {
    return this._email;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Switch form; the old form's message and errors go. */
  show(page: AccountPage): void {
    if (page === this._page && !this._message && !hasErrors(this._errors)) {
      return;
    }
    this._page = page;
    this._message = null;
    this._errors = {};
    this._changed.emit();
  }

  async logIn(fields: ILogInFields): Promise<boolean> {
    this._email = fields.email.trim();
    return this._submit(validateLogIn(fields, this._trans), async () => {
      await this.session.signIn(fields.email, fields.password);
      this._page = 'login';
      return null;
    });
  }

  async signUp(fields: ISignUpFields): Promise<boolean> {
    this._email = fields.email.trim();
    return this._submit(validateSignUp(fields, this._trans), async () => {
      const { needsConfirmation } = await this.session.signUp({
        fullName: fields.fullName,
        email: fields.email,
        password: fields.password
      });
      if (!needsConfirmation) {
        // Confirmation is off (autoconfirm): the session has begun.
        this._page = 'login';
        return null;
      }
      this._page = 'verify';
      return {
        kind: 'success',
        text: this._trans.__(
          'Please verify your email: we sent a confirmation link to %1. Open it to activate your account.',
          this._email
        )
      };
    });
  }

  async requestPasswordReset(email: string): Promise<boolean> {
    this._email = email.trim();
    const error = emailError(email, this._trans);
    return this._submit(error ? { email: error } : {}, async () => {
      await this.session.requestPasswordReset(email);
      return {
        kind: 'success',
        text: this._trans.__(
          'If an account exists, a reset link has been sent to %1.',
          this._email
        )
      };
    });
  }

  /** After a reset link: the new password ends recovery. */
  async setNewPassword(fields: INewPasswordFields): Promise<boolean> {
    return this._submit(validateNewPassword(fields, this._trans), async () => {
      await this.session.updatePassword(fields.password);
      return {
        kind: 'success',
        text: this._trans.__('Your new password is set.')
      };
    });
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    Signal.clearData(this);
  }

  private async _submit(
    errors: FieldErrors<string>,
    action: () => Promise<IAccountMessage | null>
  ): Promise<boolean> {
    if (this._busy) {
      return false;
    }
    this._errors = errors;
    if (hasErrors(errors)) {
      this._message = null;
      this._changed.emit();
      return false;
    }
    this._busy = true;
    this._message = null;
    this._changed.emit();
    let ok = false;
    try {
      this._message = await action();
      ok = true;
    } catch (reason) {
      this._message = { kind: 'error', text: this._describe(reason) };
    } finally {
      this._busy = false;
    }
    if (!this._isDisposed) {
      this._changed.emit();
    }
    return ok;
  }

  private _describe(reason: unknown): string {
    if (reason instanceof AuthFailure) {
      if (reason.code === 'email_not_confirmed') {
        return this._trans.__(
          'Please verify your email first: open the link in the confirmation mail we sent you.'
        );
      }
      return reason.message;
    }
    return reason instanceof Error ? reason.message : String(reason);
  }

  /** A new session starts clean; after sign-out, the login form does. */
  private _onSessionChanged(_: unknown, args: ISessionChangedArgs): void {
    if (args.reason !== 'signed-in' && args.reason !== 'signed-out') {
      return;
    }
    this._page = 'login';
    this._errors = {};
    this._message = null;
    this._changed.emit();
  }

  /** A mail link's outcome becomes the login form's message. */
  private _onSessionState(): void {
    const outcome = this.session.linkOutcome;
    if (!outcome || this.session.isLoggedIn) {
      return;
    }
    let message: IAccountMessage | null = null;
    if (outcome.kind === 'confirmed') {
      message = {
        kind: 'success',
        text: this._trans.__('Email confirmed — please log in.')
      };
    } else if (outcome.kind === 'failed') {
      message = {
        kind: 'error',
        text: this._trans.__(
          'That link did not work: %1 Request a new one, or log in.',
          withPeriod(outcome.message)
        )
      };
    }
    if (message && message.text !== this._message?.text) {
      this._page = 'login';
      this._errors = {};
      this._message = message;
      this._changed.emit();
    }
  }
}

function withPeriod(text: string): string {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) || !trimmed ? trimmed : `${trimmed}.`;
}
