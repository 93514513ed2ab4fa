import pino, { Logger } from 'pino';
import { SECRET_HEADERS } from './auth/log-redaction';

/**
 * Structured JSON logs on stdout (the Jupyter server app forwards them).
 * Anything that could carry a secret is redacted before it is written.
 */
export function createLogger(
  level: string,
  /** Where the lines go; stdout by default. */
  destination?: pino.DestinationStream
): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'insighter-sidecar' },
    redact: {
      paths: [
        ...SECRET_HEADERS.map(name => `req.headers["${name}"]`),
        'res.headers["set-cookie"]',
        '*.password',
        '*.access_token',
        '*.refresh_token'
      ],
      censor: '[redacted]'
    }
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
