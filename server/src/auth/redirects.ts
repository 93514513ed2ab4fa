/**
 * Where a followed email link may send the browser. Like GoTrue's
 * `uri_allow_list`: the site URL's and the sidecar's own origins, plus
 * configured prefixes; anything else falls back to the site URL, so the
 * tokens in the redirect never land on a stranger's page.
 */
export interface RedirectPolicy {
  siteUrl: string;
  publicUrl: string;
  extraPrefixes: string[];
}

export function resolveRedirect(
  requested: string | undefined,
  policy: RedirectPolicy
): string {
  if (!requested) {
    return policy.siteUrl;
  }
  let url: URL;
  try {
    url = new URL(requested);
  } catch {
    return policy.siteUrl;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return policy.siteUrl;
  }
  const origins = [policy.siteUrl, policy.publicUrl].map(
    u => new URL(u).origin
  );
  if (origins.includes(url.origin)) {
    return url.toString();
  }
  if (policy.extraPrefixes.some(prefix => url.toString().startsWith(prefix))) {
    return url.toString();
  }
  return policy.siteUrl;
}
