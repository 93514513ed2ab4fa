import { z } from 'zod';
import { HttpError } from './errors';

/**
 * The JSON body as the schema wants it, or a 400 whose message lists every
 * problem (and `details.fields` names each field) so a person can fix it.
 *
 * `example` is shown when the body is not a JSON object at all; `subject`
 * says what should have been sent.
 */
export function parseJsonBody<T>(
  schema: z.ZodType<T>,
  body: unknown,
  example: string,
  subject = 'a JSON object'
): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(
      400,
      `Send ${subject}, e.g. ${example}, with Content-Type: application/json.`,
      'invalid_input'
    );
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const fields = parsed.error.issues.map(issue => ({
      field: issue.path.join('.') || null,
      message: issue.message
    }));
    throw new HttpError(
      400,
      [...new Set(fields.map(f => f.message))].join(' '),
      'invalid_input',
      { fields }
    );
  }
  return parsed.data;
}
