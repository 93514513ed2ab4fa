import type { Request } from 'express';
import { HttpError } from './errors';

/** A query parameter given at most once, or undefined; `?a=1&a=2` is a 400. */
export function optionalQuery(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  if (value === undefined) {
    return undefined;
  }
  if (typeof value !== 'string') {
    throw new HttpError(
      400,
      `Give ${name} once, as a single value.`,
      'invalid_input'
    );
  }
  return value;
}

/** A whole number from `min` up, or `fallback` when the parameter is absent. */
export function wholeNumberQuery(
  req: Request,
  name: string,
  fallback: number,
  min = 0
): number {
  const value = optionalQuery(req, name);
  if (value === undefined) {
    return fallback;
  }
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number < min) {
    throw new HttpError(
      400,
      `${name} must be a whole number from ${min} up.`,
      'invalid_input'
    );
  }
  return number;
}
