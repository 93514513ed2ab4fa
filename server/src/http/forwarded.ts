import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Request, RequestHandler } from 'express';

/**
 * Who may tell the sidecar where a request came from (`X-Forwarded-For`,
 * `-Proto`, `-Host`, `-Prefix`, `Forwarded`). Anyone can send those headers,
 * and any local user or process reaches a loopback port, so the peer's
 * address proves nothing. Trusted are:
 * - the Jupyter server's own proxy, which marks each request with the secret
 *   its sidecar was started with (`X-Insighter-Proxy-Secret`,
 *   `INSIGHTER_PROXY_SECRET`);
 * - the reverse proxies named in `INSIGHTER_TRUSTED_PROXIES` (addresses or
 *   CIDR ranges), e.g. the one in front of a hosted session.
 * From any other peer the headers are dropped before anything reads them,
 * so the client address is the connection's own.
 */
export const PROXY_SECRET_HEADER = 'x-insighter-proxy-secret';

const FORWARDING_HEADERS = [
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-prefix',
  'x-forwarded-port',
  'forwarded'
];

/** Requests whose forwarding headers were dropped: a proxy nobody trusts relayed them. */
const untrustedForwarding = new WeakSet<IncomingMessage>();

/**
 * Whether an untrusted peer sent forwarding headers: it may be a proxy
 * relaying someone from elsewhere, so its own address says nothing about
 * where the request began.
 */
export function forwardedByUntrustedPeer(req: IncomingMessage): boolean {
  return untrustedForwarding.has(req);
}

export interface ForwardingTrust {
  /** Express's `trust proxy` setting: hop 0 (the peer) was vetted by `vet`. */
  trustProxy(address: string, hop: number): boolean;
  /** First middleware: drops the forwarding headers of untrusted peers. */
  vet: RequestHandler;
}

export function forwardingTrust(options: {
  proxySecret?: string;
  trustedProxies: string[];
}): ForwardingTrust {
  const trusted = addressList(options.trustedProxies);
  return {
    trustProxy: (address, hop) => hop === 0 || trusted(address),
    vet: (req, _res, next) => {
      const peer = req.socket.remoteAddress;
      if (
        !carriesProxySecret(req, options.proxySecret) &&
        !(peer && trusted(peer))
      ) {
        for (const name of FORWARDING_HEADERS) {
          if (name in req.headers) {
            untrustedForwarding.add(req);
            delete req.headers[name];
          }
        }
      }
      next();
    }
  };
}

/** Whether the request carries the Jupyter proxy's secret (false when none is configured). */
export function carriesProxySecret(
  req: IncomingMessage,
  secret: string | undefined
): boolean {
  if (!secret) {
    return false;
  }
  const given = req.headers[PROXY_SECRET_HEADER];
  if (typeof given !== 'string') {
    return false;
  }
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `INSIGHTER_TRUSTED_PROXIES` entries: an address or a CIDR range each; throws on others. */
export function addressList(entries: string[]): (address: string) => boolean {
  const list = new net.BlockList();
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/');
    const family = net.isIP(address);
    const prefix = bits === undefined ? undefined : Number(bits);
    if (
      !family ||
      extra !== undefined ||
      (prefix !== undefined &&
        (!/^\d+$/.test(bits) || prefix > (family === 4 ? 32 : 128)))
    ) {
      throw new Error(
        `"${entry}" is not an IP address or a CIDR range (e.g. 10.0.0.5 or 10.0.0.0/8).`
      );
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) {
      list.addAddress(address, type);
    } else {
      list.addSubnet(address, prefix, type);
    }
  }
  return address => {
    const family = net.isIP(address);
    return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/**
 * The sidecar's root as this request reached it: scheme and host as the
 * client sent them, or as a trusted proxy reports them (`X-Forwarded-Proto`,
 * `-Host`), with the proxy's path prefix (`X-Forwarded-Prefix`, e.g. the
 * Jupyter proxy's `/insighter`). Run after `vet`, which drops the
 * forwarding headers of untrusted peers. A value that is not a plain host
 * or path is ignored.
 */
export function reachedAt(req: Request): string {
  const host = /^[A-Za-z0-9.\-:[\]]+$/.test(req.host ?? '')
    ? req.host
    : (req.headers.host ?? '');
  const prefix = req.get('x-forwarded-prefix') ?? '';
  const path = /^\/(?!\/)[^\s?#\\]*$/.test(prefix)
    ? prefix.replace(/\/+$/, '')
    : '';
  return `${req.protocol}://${host}${path}`;
}
