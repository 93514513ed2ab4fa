import { ACCESS_TOKEN_HEADER } from '@insighter/core';
import { ServerConnection } from '@jupyterlab/services';

type Fetch = typeof fetch;

/**
 * A `fetch` for supabase-js whose requests to the Jupyter server carry
 * Jupyter's own credentials: in embedded mode the auth server sits behind the
 * Jupyter proxy, which admits only requests with the Jupyter token or the
 * `_xsrf` cookie echoed in `X-XSRFToken` (every POST needs it).
 * `ServerConnection.makeRequest` adds both, as for any Jupyter API call.
 *
 * supabase-js puts its bearer token (the anon key or the user's access token)
 * in `Authorization`. It is copied to `X-Insighter-Authorization`, which the
 * proxy hands to the sidecar as `Authorization` (`SidecarClient`'s
 * convention). When the page holds a Jupyter token, `Authorization` is
 * Jupyter's (`token …`, added by `ServerConnection`) and the bearer leaves
 * it; without one (cookie login, or no token at all) the bearer stays there
 * too, for a proxy that forwards `Authorization` as it comes.
 *
 * Anything outside the Jupyter server (a hosted Supabase project) goes out
 * through the plain `fetch`, untouched.
 */
export function jupyterFetch(
  settings: ServerConnection.ISettings,
  plainFetch: Fetch = (input, init) =>
    settings.fetch(input instanceof URL ? input.href : input, init)
): Fetch {
  return async (input, init) => {
    const url = requestUrl(input);
    if (!url.startsWith(settings.baseUrl)) {
      return plainFetch(input, init);
    }
    const source = input instanceof Request ? input : undefined;
    const headers = new Headers(init?.headers ?? source?.headers);
    const bearer = headers.get('Authorization');
    if (bearer !== null) {
      headers.set(ACCESS_TOKEN_HEADER, bearer);
      if (settings.token) {
        // ServerConnection appends `token …`: two schemes in one header fail both.
        headers.delete('Authorization');
      }
    }
    let body = init?.body;
    if (body === undefined && source && source.body !== null) {
      body = await source.arrayBuffer();
    }
    return ServerConnection.makeRequest(
      url,
      {
        method: init?.method ?? source?.method,
        body,
        headers,
        signal: init?.signal ?? source?.signal,
        // Auth answers must never come from a cache; this also keeps
        // ServerConnection from appending its cache-busting query parameter.
        cache: 'no-cache'
      },
      settings
    );
  };
}

function requestUrl(input: RequestInfo | URL): string {
  if (typeof input === 'string') {
    return input;
  }
  if (input instanceof URL) {
    return input.href;
  }
  return input.url;
}
