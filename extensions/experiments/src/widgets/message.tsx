import * as React from 'react';

/** A failure in words, announced to screen readers; nothing when there is none. */
export function ErrorMessage(props: {
  text: string | null | undefined;
}): React.ReactElement | null {
  return props.text ? (
    <p className="jp-insighter-Experiments-message jp-mod-error" role="alert">
      {props.text}
    </p>
  ) : null;
}
