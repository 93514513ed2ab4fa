import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';

/**
 * The host names the sidecar answers to. A page on any web site can point
 * its own host name at 127.0.0.1 (DNS rebinding) and then read the
 * sidecar's answers as same-origin ones; such requests carry that site's
 * name in `Host`, so only these are served:
 * - IP addresses (a page reached by address cannot rebind) and `localhost`
 *   (with its subdomains, which resolve to loopback);
 * - `INSIGHTER_HOST` and the host of `INSIGHTER_PUBLIC_URL`;
 * - `INSIGHTER_ALLOWED_HOSTS`: names, `.example.org` for a domain and its
 *   subdomains, or `*` for any (when a proxy in front checks names itself).
 * The Jupyter proxy sends the sidecar's own address as `Host`.
 */
export interface AllowedHostsConfig {
  host: string;
  publicUrl: string;
  allowedHosts: string[];
}

export type HostCheck = (req: IncomingMessage) => boolean;

export function allowedHosts(config: AllowedHostsConfig): HostCheck {
  const names = new Set<string>();
  const domains: string[] = [];
  let any = false;
  const add = (entry: string) => {
    const name = normalize(entry);
    if (name === '*') {
      any = true;
    } else if (name.startsWith('.')) {
      domains.push(name);
    } else if (name) {
      names.add(name);
    }
  };
  add(config.host);
  add(new URL(config.publicUrl).hostname);
  config.allowedHosts.forEach(add);
  return req => {
    const header = req.headers.host;
    // Browsers always send Host; an HTTP/1.0 client without one is no page.
    if (any || header === undefined) {
      return true;
    }
    const name = hostname(header);
    return (
      net.isIP(name) !== 0 ||
      name === 'localhost' ||
      name.endsWith('.localhost') ||
      names.has(name) ||
      domains.some(domain => name.endsWith(domain) || name === domain.slice(1))
    );
  };
}

/** Answers 403 in the app's error shape, naming the variable that allows the host. */
export function refuseHost(req: IncomingMessage, res: ServerResponse): void {
  const body = JSON.stringify({
    error: {
      code: 'host_not_allowed',
      message: `This server does not answer to the host name "${hostname(req.headers.host ?? '')}": reach it by its address, localhost or a configured name (INSIGHTER_PUBLIC_URL, INSIGHTER_ALLOWED_HOSTS).`
    }
  });
  res.writeHead(403, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store'
  });
  res.end(body);
}

/** The name of a Host header: no port, no IPv6 brackets, lower case, no trailing dot. */
function hostname(header: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(header);
  const name = bracketed ? bracketed[1] : header.replace(/:\d*$/, '');
  return normalize(name);
}

function normalize(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}
