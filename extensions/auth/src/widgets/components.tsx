import * as React from 'react';
import type { IAccountMessage } from '../accountmodel';

export interface IFieldProps {
  /** Unique in the page: labels point at it. */
  id: string;
  label: string;
  type: 'text' | 'email' | 'password';
  value: string;
  onChange: (value: string) => void;
  error?: string;
  testId?: string;
  autoComplete?: string;
  autoFocus?: boolean;
  disabled?: boolean;
}

/** A labelled input with its error under it (announced to screen readers). */
export function Field(props: IFieldProps): React.ReactElement {
  const errorId = `${props.id}-error`;
  return (
    <div className="jp-insighter-Field">
      <label htmlFor={props.id}>{props.label}</label>
      <input
        id={props.id}
        className={`jp-mod-styled${props.error ? ' jp-mod-invalid' : ''}`}
        type={props.type}
        value={props.value}
        autoComplete={props.autoComplete}
        autoFocus={props.autoFocus}
        disabled={props.disabled}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={props.error ? errorId : undefined}
        data-testid={props.testId}
        onChange={event => props.onChange(event.currentTarget.value)}
      />
      {props.error && (
        <span id={errorId} className="jp-insighter-FieldError" role="alert">
          {props.error}
        </span>
      )}
    </div>
  );
}

export interface IMessageProps {
  message: IAccountMessage | null;
  testId: string;
}

/** The message above a form: info, success, or the server's error. */
export function Message(props: IMessageProps): React.ReactElement | null {
  const { message } = props;
  if (!message) {
    return null;
  }
  return (
    <p
      className={`jp-insighter-Message jp-mod-${message.kind}`}
      role={message.kind === 'error' ? 'alert' : 'status'}
      data-testid={props.testId}
      data-kind={message.kind}
    >
      {message.text}
    </p>
  );
}

/** A button that looks like a link: switches forms, runs commands. */
export function LinkButton(props: {
  onClick: () => void;
  children: React.ReactNode;
  testId?: string;
}): React.ReactElement {
  return (
    <button
      type="button"
      className="jp-insighter-LinkButton"
      data-testid={props.testId}
      onClick={props.onClick}
    >
      {props.children}
    </button>
  );
}

/** Submit on Enter and by the button, without reloading the page. */
export function Form(props: {
  label: string;
  onSubmit: () => void;
  busy: boolean;
  children: React.ReactNode;
}): React.ReactElement {
  return (
    <form
      className="jp-insighter-Form"
      aria-label={props.label}
      aria-busy={props.busy}
      noValidate
      onSubmit={event => {
        event.preventDefault();
        props.onSubmit();
      }}
    >
      {props.children}
    </form>
  );
}
