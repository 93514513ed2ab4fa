import type { TranslationBundle } from '@jupyterlab/translation';
import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import type { IAccountMessage } from './accountmodel';
import { AuthFailure, SessionModel } from './sessionmodel';
import {
  FieldErrors,
  hasErrors,
  INewPasswordFields,
  nameError,
  validateNewPassword
} from './validation';

export type ProfileForm = 'name' | 'password';

interface IFormState {
  busy: boolean;
  message: IAccountMessage | null;
  errors: FieldErrors<string>;
}

/**
 * Settings → Profile: the full name and the password of the signed-in user,
 * each its own form with its own message. Changes go through supabase-js's
 * `updateUser`, which the session then announces.
 */
export class ProfileModel implements IDisposable {
  private readonly _forms: Record<ProfileForm, IFormState> = {
    name: { busy: false, message: null, errors: {} },
    password: { busy: false, message: null, errors: {} }
  };
  private _isDisposed = false;
  private readonly _changed = new Signal<this, void>(this);

  constructor(
    readonly session: SessionModel,
    private readonly _trans: TranslationBundle
  ) {
    session.stateChanged.connect(this._emit, this);
  }

  form(which: ProfileForm): Readonly<IFormState> {
    return this._forms[which];
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  async saveName(fullName: string): Promise<boolean> {
    const error = nameError(fullName, this._trans);
    return this._submit('name', error ? { fullName: error } : {}, async () => {
      await this.session.updateProfile({ fullName });
      return this._trans.__('Your name is saved.');
    });
  }

  async changePassword(fields: INewPasswordFields): Promise<boolean> {
    return this._submit(
      'password',
      validateNewPassword(fields, this._trans),
      async () => {
        await this.session.updatePassword(fields.password);
        return this._trans.__('Your password is changed.');
      }
    );
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    Signal.clearData(this);
  }

  private async _submit(
    which: ProfileForm,
    errors: FieldErrors<string>,
    action: () => Promise<string>
  ): Promise<boolean> {
    const form = this._forms[which];
    if (form.busy) {
      return false;
    }
    form.errors = errors;
    form.message = null;
    if (hasErrors(errors)) {
      this._emit();
      return false;
    }
    form.busy = true;
    this._emit();
    let ok = false;
    try {
      form.message = { kind: 'success', text: await action() };
      ok = true;
    } catch (reason) {
      form.message = {
        kind: 'error',
        text:
          reason instanceof AuthFailure || reason instanceof Error
            ? reason.message
            : String(reason)
      };
    } finally {
      form.busy = false;
    }
    this._emit();
    return ok;
  }

  private _emit(): void {
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }
}
