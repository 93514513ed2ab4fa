import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DatasetValidationError,
  ThreadedValidator,
  validateDatasetFile
} from '../../src/datasets/validate';
import { GERMAN_CREDIT } from '../support/shared-data';

/**
 * The upload's validation stage on its worker thread: what passes, what
 * comes out and what stops it must be what the in-thread validator says.
 */
async function through(chunks: Buffer[]) {
  const validator = new ThreadedValidator();
  const out: Buffer[] = [];
  let error: unknown;
  try {
    await pipeline(
      Readable.from(chunks),
      validator,
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          out.push(chunk);
          done();
        }
      })
    );
  } catch (err) {
    error = err;
  }
  return { validator, out: Buffer.concat(out), error };
}

function inChunks(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) {
    chunks.push(bytes.subarray(i, i + size));
  }
  return chunks;
}

describe('ThreadedValidator', () => {
  it('passes German Credit on unchanged, with the in-thread result and its SHA-256', async () => {
    const bytes = fs.readFileSync(GERMAN_CREDIT);
    const { validator, out, error } = await through(inChunks(bytes, 4096));
    expect(error).toBeUndefined();
    expect(out.equals(bytes)).toBe(true);
    expect(validator.result).toEqual(await validateDatasetFile(GERMAN_CREDIT));
    expect(validator.result).toMatchObject({ ok: true, rows: 1000 });
    expect(validator.sha256).toBe(
      createHash('sha256').update(bytes).digest('hex')
    );
  });

  it('stops a ragged CSV with the row named, as the in-thread validator does', async () => {
    const text = `a,b\n${'1,2\n'.repeat(5000)}1,2,3\n${'1,2\n'.repeat(10)}`;
    const { validator, error } = await through(
      inChunks(Buffer.from(text), 1000)
    );
    expect(error).toBeInstanceOf(DatasetValidationError);
    expect((error as DatasetValidationError).reason).toBe(
      'Row 5002 has 3 fields; the header has 2'
    );
    expect(validator.result).toEqual({
      ok: false,
      reason: (error as DatasetValidationError).reason
    });
  });

  it('refuses a binary file, and an empty one', async () => {
    const binary = await through([Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 1])]);
    expect((binary.error as DatasetValidationError).reason).toMatch(/binary/);
    const empty = await through([]);
    expect((empty.error as DatasetValidationError).reason).toBe(
      'The file is empty'
    );
  });

  it('holds a fast sender back while the worker catches up, then takes all of it', async () => {
    // 48 MB of rows in 1 MB chunks: three times what may wait unchecked.
    const row = Buffer.from('1234567,0.25,some text\n');
    const block = Buffer.concat(
      Array.from({ length: Math.floor((1 << 20) / row.length) }, () => row)
    );
    const chunks = [
      Buffer.from('id,ratio,label\n'),
      ...Array.from({ length: 48 }, () => block)
    ];
    const { validator, out, error } = await through(chunks);
    expect(error).toBeUndefined();
    expect(out.length).toBe(chunks.reduce((n, c) => n + c.length, 0));
    expect(validator.result).toMatchObject({
      ok: true,
      rows: 48 * (block.length / row.length)
    });
  });
});
