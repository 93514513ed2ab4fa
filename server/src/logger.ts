import pino, { Logger } from 'pino';

/**
 * Structured JSON logs on stdout (the Jupyter server app forwards them).
 * Anything that could carry a secret is redacted before it is written.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'insighter-sidecar' },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers.apikey',
        'req.headers["x-api-key"]',
        'req.headers["x-insighter-proxy-secret"]',
        'res.headers["set-cookie"]',
        '*.password',
        '*.access_token',
        '*.refresh_token'
      ],
      censor: '[redacted]'
    }
  });
}

export type { Logger };
