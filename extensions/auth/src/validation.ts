import type { TranslationBundle } from '@jupyterlab/translation';

/*
 * The sidecar's rules for accounts (server/src/auth), checked before a form
 * is sent so people see every problem at once. The server checks again and
 * its answer is shown as it comes: these only spare a round trip.
 */

export const MIN_PASSWORD_LENGTH = 8;
/** GoTrue's (bcrypt's) limit; kept so accounts move to a hosted Supabase. */
export const MAX_PASSWORD_LENGTH = 72;
export const MAX_NAME_LENGTH = 200;
export const MAX_EMAIL_LENGTH = 255;

/** Field name → what is wrong with it; empty when the form may be sent. */
export type FieldErrors<F extends string> = Partial<Record<F, string>>;

export interface ISignUpFields {
  fullName: string;
  email: string;
  password: string;
  confirm: string;
}

export interface ILogInFields {
  email: string;
  password: string;
}

export interface INewPasswordFields {
  password: string;
  confirm: string;
}

/** Spaces trimmed and collapsed, as the server stores it. */
export function normalizeName(name: string): string {
  return name.trim().replace(/\s+/g, ' ');
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function emailError(
  email: string,
  trans: TranslationBundle
): string | undefined {
  const value = email.trim();
  if (!value) {
    return trans.__('Enter your email address.');
  }
  if (
    value.length > MAX_EMAIL_LENGTH ||
    !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)
  ) {
    return trans.__('Enter a valid email address, like ada@example.com.');
  }
  return undefined;
}

/** The server's rule: at least 8 characters, with letters and digits. */
export function passwordError(
  password: string,
  trans: TranslationBundle
): string | undefined {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) {
    return trans.__(
      'Use at least %1 characters, with letters and digits.',
      MIN_PASSWORD_LENGTH
    );
  }
  if (length > MAX_PASSWORD_LENGTH) {
    return trans.__('Use at most %1 characters.', MAX_PASSWORD_LENGTH);
  }
  if (!/\p{L}/u.test(password) || !/\p{Nd}/u.test(password)) {
    return trans.__('Use letters and digits in your password.');
  }
  return undefined;
}

export function nameError(
  fullName: string,
  trans: TranslationBundle
): string | undefined {
  const name = normalizeName(fullName);
  if (!name) {
    return trans.__('Enter your full name.');
  }
  if (name.length > MAX_NAME_LENGTH) {
    return trans.__('Use at most %1 characters.', MAX_NAME_LENGTH);
  }
  return undefined;
}

function confirmError(
  password: string,
  confirm: string,
  trans: TranslationBundle
): string | undefined {
  return password === confirm
    ? undefined
    : trans.__('The two passwords differ.');
}

export function validateSignUp(
  fields: ISignUpFields,
  trans: TranslationBundle
): FieldErrors<keyof ISignUpFields> {
  return compact({
    fullName: nameError(fields.fullName, trans),
    email: emailError(fields.email, trans),
    password: passwordError(fields.password, trans),
    confirm: confirmError(fields.password, fields.confirm, trans)
  });
}

export function validateLogIn(
  fields: ILogInFields,
  trans: TranslationBundle
): FieldErrors<keyof ILogInFields> {
  return compact({
    email: emailError(fields.email, trans),
    // Only presence: an old account may predate today's password rule.
    password: fields.password ? undefined : trans.__('Enter your password.')
  });
}

export function validateNewPassword(
  fields: INewPasswordFields,
  trans: TranslationBundle
): FieldErrors<keyof INewPasswordFields> {
  return compact({
    password: passwordError(fields.password, trans),
    confirm: confirmError(fields.password, fields.confirm, trans)
  });
}

export function hasErrors(errors: FieldErrors<string>): boolean {
  return Object.keys(errors).length > 0;
}

function compact<F extends string>(
  errors: Record<F, string | undefined>
): FieldErrors<F> {
  const result: FieldErrors<F> = {};
  for (const key of Object.keys(errors) as F[]) {
    if (errors[key] !== undefined) {
      result[key] = errors[key];
    }
  }
  return result;
}
