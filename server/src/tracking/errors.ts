/**
 * Errors as MLflow's REST API answers them: `{error_code, message}` with the
 * HTTP status MLflow gives each code, so MLflow's clients (which branch on
 * `error_code`) behave against the sidecar as against an MLflow server.
 */
export type MlflowErrorCode =
  | 'INVALID_PARAMETER_VALUE'
  | 'RESOURCE_ALREADY_EXISTS'
  | 'RESOURCE_DOES_NOT_EXIST'
  | 'PERMISSION_DENIED'
  | 'UNAUTHENTICATED'
  | 'INVALID_STATE'
  | 'BAD_REQUEST'
  | 'ENDPOINT_NOT_FOUND'
  | 'TEMPORARILY_UNAVAILABLE'
  | 'INTERNAL_ERROR';

const STATUS: Record<MlflowErrorCode, number> = {
  INVALID_PARAMETER_VALUE: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  RESOURCE_DOES_NOT_EXIST: 404,
  PERMISSION_DENIED: 403,
  UNAUTHENTICATED: 401,
  INVALID_STATE: 400,
  BAD_REQUEST: 400,
  ENDPOINT_NOT_FOUND: 404,
  TEMPORARILY_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500
};

export class MlflowError extends Error {
  readonly status: number;

  constructor(
    readonly errorCode: MlflowErrorCode,
    message: string,
    /** Only for an error relayed from another server with its own status. */
    status?: number
  ) {
    super(message);
    this.status = status ?? STATUS[errorCode];
  }

  toJSON(): { error_code: MlflowErrorCode; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }
}

export const invalidParameter = (message: string) =>
  new MlflowError('INVALID_PARAMETER_VALUE', message);

export const doesNotExist = (message: string) =>
  new MlflowError('RESOURCE_DOES_NOT_EXIST', message);

export const alreadyExists = (message: string) =>
  new MlflowError('RESOURCE_ALREADY_EXISTS', message);

export const permissionDenied = (message: string) =>
  new MlflowError('PERMISSION_DENIED', message);

/** The MLflow error code for an HTTP status, for errors that carry only a status. */
export function codeForStatus(status: number): MlflowErrorCode {
  switch (status) {
    case 400:
    case 413:
    case 415:
      return 'INVALID_PARAMETER_VALUE';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'RESOURCE_DOES_NOT_EXIST';
    case 409:
      return 'RESOURCE_ALREADY_EXISTS';
    case 429:
    case 503:
      return 'TEMPORARILY_UNAVAILABLE';
    default:
      return status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST';
  }
}
