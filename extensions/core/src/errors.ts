/**
 * What a person reads when the sidecar cannot be asked at all. The Jupyter
 * server restarts the sidecar on its own, so the advice is to wait first.
 */
export const UNREACHABLE_MESSAGE =
  'The Insighter service is not reachable. It restarts automatically; if this persists, check the Jupyter server log.';

/** The code of the error the client reports when the sidecar could not be asked. */
export const UNREACHABLE_CODE = 'sidecar_unreachable';

/**
 * `unreachable`: no answer from the sidecar (network failure, timeout, or the
 * Jupyter proxy saying it is gone). `response`: the sidecar answered with an error.
 */
export type SidecarErrorKind = 'unreachable' | 'response';

export interface ISidecarErrorOptions {
  kind: SidecarErrorKind;
  /** The HTTP status; 0 when no HTTP answer arrived. */
  status: number;
  code: string;
  message: string;
  details?: unknown;
  /** The technical cause (e.g. "fetch failed", the proxy's own message), for logs. */
  reason?: string;
}

/** Every failed sidecar call rejects with one of these. */
export class SidecarError extends Error {
  readonly kind: SidecarErrorKind;
  readonly status: number;
  readonly code: string;
  readonly details?: unknown;
  readonly reason?: string;

  constructor(options: ISidecarErrorOptions) {
    super(options.message);
    this.name = 'SidecarError';
    this.kind = options.kind;
    this.status = options.status;
    this.code = options.code;
    this.details = options.details;
    this.reason = options.reason;
  }

  get unreachable(): boolean {
    return this.kind === 'unreachable';
  }

  /** The error for "no answer": its message is `UNREACHABLE_MESSAGE`. */
  static unreachable(
    reason: string,
    status = 0,
    code = UNREACHABLE_CODE
  ): SidecarError {
    return new SidecarError({
      kind: 'unreachable',
      status,
      code,
      message: UNREACHABLE_MESSAGE,
      reason
    });
  }
}

/** True for a `SidecarError` that means the sidecar could not be asked. */
export function isUnreachable(error: unknown): boolean {
  return error instanceof SidecarError && error.unreachable;
}
