/**
 * @jest-environment jsdom
 */
import { ACCESS_TOKEN_HEADER, SidecarError } from '@insighter/core';
import { isAbort, IUploadXhr, uploadDataset } from '../src/upload';
import { dataset, file, PROJECT } from './support';

/** Records what an upload asks of its XMLHttpRequest and lets the test answer. */
class FakeXhr implements IUploadXhr {
  status = 0;
  statusText = '';
  responseText = '';
  upload: IUploadXhr['upload'] = { onprogress: null };
  onload: IUploadXhr['onload'] = null;
  onerror: IUploadXhr['onerror'] = null;
  onabort: IUploadXhr['onabort'] = null;
  method = '';
  url = '';
  headers: Record<string, string> = {};
  body: FormData | null = null;
  abortCalls = 0;
  private _sent!: () => void;
  readonly sent = new Promise<void>(resolve => (this._sent = resolve));

  open(method: string, url: string): void {
    this.method = method;
    this.url = url;
  }

  setRequestHeader(name: string, value: string): void {
    this.headers[name] = value;
  }

  send(body: FormData): void {
    this.body = body;
    this._sent();
  }

  abort(): void {
    this.abortCalls++;
    if (this.body) {
      this.onabort?.(new ProgressEvent('abort'));
    }
  }

  progress(loaded: number, total: number): void {
    this.upload.onprogress?.(
      new ProgressEvent('progress', { loaded, total, lengthComputable: true })
    );
  }

  answer(status: number, body: unknown, statusText = ''): void {
    this.status = status;
    this.statusText = statusText;
    this.responseText = typeof body === 'string' ? body : JSON.stringify(body);
    this.onload?.(new ProgressEvent('load'));
  }
}

function start(overrides: Partial<Parameters<typeof uploadDataset>[0]> = {}) {
  const xhr = new FakeXhr();
  const progress: [number, number][] = [];
  const handle = uploadDataset({
    baseUrl: 'http://localhost:8888/lab-base/insighter/',
    accessToken: async () => 'user-jwt',
    serverSettings: { token: '' },
    projectId: PROJECT,
    file: file('german_credit.csv', 5000),
    onProgress: (loaded, total) => progress.push([loaded, total]),
    createXhr: () => xhr,
    ...overrides
  });
  return { xhr, handle, progress };
}

describe('uploadDataset', () => {
  it('posts the file as multipart to the proxied sidecar, project and name in the query, with the same headers as every sidecar call', async () => {
    const { xhr, handle } = start({
      name: 'Credit applications',
      description: 'From caret',
      serverSettings: { token: 'jupyter-secret' }
    });
    await xhr.sent;
    expect(xhr.method).toBe('POST');
    const url = new URL(xhr.url);
    expect(url.pathname).toBe('/lab-base/insighter/api/v1/datasets');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      project_id: PROJECT,
      name: 'Credit applications',
      description: 'From caret'
    });
    expect(xhr.headers).toEqual({
      Accept: 'application/json',
      Authorization: 'token jupyter-secret',
      [ACCESS_TOKEN_HEADER]: 'Bearer user-jwt'
    });
    // The browser writes the multipart Content-Type with its boundary.
    const part = xhr.body?.get('file') as File;
    expect(part.name).toBe('german_credit.csv');
    expect(part.size).toBe(5000);

    const record = dataset({ name: 'Credit applications' });
    xhr.answer(201, record);
    await expect(handle.done).resolves.toEqual(record);
  });

  it('leaves the name to the sidecar (the file name) when none is given', async () => {
    const { xhr } = start();
    await xhr.sent;
    expect([...new URL(xhr.url).searchParams.keys()]).toEqual(['project_id']);
    expect(xhr.headers.Authorization).toBe('Bearer user-jwt');
  });

  it('reports progress of the body', async () => {
    const { xhr, progress } = start();
    await xhr.sent;
    xhr.progress(1000, 5000);
    xhr.progress(5000, 5000);
    expect(progress).toEqual([
      [1000, 5000],
      [5000, 5000]
    ]);
  });

  it("turns the sidecar's refusal into its SidecarError, message and all", async () => {
    const { xhr, handle } = start();
    await xhr.sent;
    xhr.answer(422, {
      error: {
        code: 'invalid_file',
        message:
          'This is not a CSV file: line 3 has 4 fields where the header has 3.'
      }
    });
    const error = await handle.done.catch(e => e);
    expect(error).toBeInstanceOf(SidecarError);
    expect(error).toMatchObject({
      status: 422,
      code: 'invalid_file',
      message:
        'This is not a CSV file: line 3 has 4 fields where the header has 3.'
    });
    expect(isAbort(error)).toBe(false);
  });

  it('says the service is unreachable when the proxy answers for a sidecar that is gone, or nothing answers', async () => {
    const proxied = start();
    await proxied.xhr.sent;
    proxied.xhr.answer(502, {
      error: { code: 'sidecar_unavailable', message: 'The sidecar is down.' }
    });
    const gone = await proxied.handle.done.catch(e => e);
    expect(gone).toBeInstanceOf(SidecarError);
    expect(gone.unreachable).toBe(true);

    const broken = start();
    await broken.xhr.sent;
    broken.xhr.onerror?.(new ProgressEvent('error'));
    const error = await broken.handle.done.catch(e => e);
    expect(error.unreachable).toBe(true);
    expect(error.reason).toBe('The upload was broken off.');
  });

  it('rejects an answer that is not JSON', async () => {
    const { xhr, handle } = start();
    await xhr.sent;
    xhr.answer(201, '<html>');
    await expect(handle.done).rejects.toMatchObject({
      code: 'invalid_response'
    });
  });

  it('is cancelled by abort(), mid-way or before it was sent', async () => {
    const { xhr, handle } = start();
    await xhr.sent;
    xhr.progress(1000, 5000);
    handle.abort();
    const error = await handle.done.catch(e => e);
    expect(isAbort(error)).toBe(true);
    expect(xhr.abortCalls).toBe(1);

    // Aborted while the token was still being asked for: nothing is sent.
    let release!: (token: string) => void;
    const early = start({
      accessToken: () => new Promise<string>(resolve => (release = resolve))
    });
    early.handle.abort();
    release('user-jwt');
    expect(isAbort(await early.handle.done.catch(e => e))).toBe(true);
    expect(early.xhr.body).toBeNull();
  });
});
