import {
  type AccessTokenProvider,
  errorFromResponse,
  SidecarError,
  sidecarAuthHeaders
} from '@insighter/core';
import { URLExt } from '@jupyterlab/coreutils';
import type { ServerConnection } from '@jupyterlab/services';
import type { IDataset } from './tokens';

/** Where datasets are uploaded, under the sidecar's root. */
export const DATASETS_PATH = 'api/v1/datasets';

/** The part of `XMLHttpRequest` an upload uses; tests pass a fake. */
export interface IUploadXhr {
  readonly status: number;
  readonly statusText: string;
  readonly responseText: string;
  readonly upload: {
    onprogress: ((event: ProgressEvent) => void) | null;
  };
  onload: ((event: ProgressEvent) => void) | null;
  onerror: ((event: ProgressEvent) => void) | null;
  onabort: ((event: ProgressEvent) => void) | null;
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  send(body: FormData): void;
  abort(): void;
}

export interface IDatasetUploadOptions {
  /** The proxied sidecar root (`ISidecarClient.baseUrl`). */
  baseUrl: string;
  /** The signed-in person's token (`ISidecarClient.accessTokenProvider`). */
  accessToken: AccessTokenProvider | null;
  /** Jupyter's settings: its token goes along, as for every sidecar call. */
  serverSettings: Pick<ServerConnection.ISettings, 'token'>;
  projectId: string;
  file: File;
  name?: string;
  description?: string;
  /** Bytes of the body sent so far, of `total`. */
  onProgress?: (loaded: number, total: number) => void;
  createXhr?: () => IUploadXhr;
}

/** A running upload: `done` settles with the dataset, or rejects. */
export interface IDatasetUploadHandle {
  readonly done: Promise<IDataset>;
  /** Breaks off the upload; `done` rejects with an `AbortError`. */
  abort(): void;
}

/** True for the rejection of an upload that was cancelled. */
export function isAbort(reason: unknown): boolean {
  return reason instanceof Error && reason.name === 'AbortError';
}

/**
 * Sends a file to `POST /api/v1/datasets` as `multipart/form-data`. An
 * `XMLHttpRequest`, not `fetch`: only it reports how much of the body went
 * out, which the progress bar shows. The project and name ride in the query
 * so the sidecar knows them before the file's first byte.
 */
export function uploadDataset(
  options: IDatasetUploadOptions
): IDatasetUploadHandle {
  const xhr = (options.createXhr ?? (() => new XMLHttpRequest()))();
  let aborted = false;
  const done = (async () => {
    const token = await options.accessToken?.();
    if (aborted) {
      throw abortError();
    }
    return new Promise<IDataset>((resolve, reject) => {
      xhr.upload.onprogress = event => {
        options.onProgress?.(
          event.loaded,
          event.lengthComputable ? event.total : options.file.size
        );
      };
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          try {
            resolve(JSON.parse(xhr.responseText) as IDataset);
          } catch {
            reject(
              new SidecarError({
                kind: 'response',
                status: xhr.status,
                code: 'invalid_response',
                message:
                  'The Insighter service sent an answer that is not JSON.',
                reason: xhr.responseText.slice(0, 200)
              })
            );
          }
          return;
        }
        reject(errorFromResponse(xhr, xhr.responseText));
      };
      xhr.onerror = () => {
        // No answer at all: the sidecar or the network went away mid-upload.
        reject(SidecarError.unreachable('The upload was broken off.'));
      };
      xhr.onabort = () => reject(abortError());
      xhr.open('POST', uploadUrl(options));
      const headers = {
        Accept: 'application/json',
        ...sidecarAuthHeaders(token, options.serverSettings)
      };
      for (const [name, value] of Object.entries(headers)) {
        xhr.setRequestHeader(name, value);
      }
      const body = new FormData();
      body.append('file', options.file, options.file.name);
      xhr.send(body);
    });
  })();
  return {
    done,
    abort: () => {
      aborted = true;
      xhr.abort();
    }
  };
}

function uploadUrl(options: IDatasetUploadOptions): string {
  const query = new URLSearchParams({ project_id: options.projectId });
  if (options.name) {
    query.set('name', options.name);
  }
  if (options.description) {
    query.set('description', options.description);
  }
  return `${URLExt.join(options.baseUrl, DATASETS_PATH)}?${query}`;
}

function abortError(): Error {
  const error = new Error('The upload was cancelled.');
  error.name = 'AbortError';
  return error;
}
