import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  CsvScanner,
  firstRecordFields
} from '../../src/datasets/validate/csv-scanner';
import { CsvFieldChecker } from '../../src/datasets/validate/csv-field-checker';
import { CSV_FIELDS_WASM } from '../../src/datasets/validate/csv-fields-wasm';
import {
  DatasetValidationError,
  DatasetValidator,
  detectDelimiter,
  validateDatasetFile
} from '../../src/datasets/validate';

const GERMAN_CREDIT =
  process.env.INSIGHTER_TEST_GERMAN_CREDIT ??
  '/work/shared/data/german_credit.csv';
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-validate-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const target = path.join(dir, name);
  fs.writeFileSync(target, content);
  return target;
}

async function reasonFor(content: string | Buffer, maxBytes?: number) {
  const result = await validateDatasetFile(file('input.csv', content), {
    maxBytes
  });
  return result.ok ? 'ok' : result.reason;
}

/** Field counts per record, feeding the bytes in chunks of `size`. */
function recordFields(text: string, size: number, delimiter = ','): number[] {
  const bytes = Buffer.from(text);
  const scanner = new CsvScanner(delimiter.charCodeAt(0));
  const counts: number[] = [];
  const sink = (fields: number) => {
    counts.push(fields);
    return true;
  };
  for (let i = 0; i < bytes.length; i += size) {
    scanner.scan(bytes.subarray(i, i + size), sink);
  }
  expect(scanner.finish(sink)).toBe(true);
  return counts;
}

describe('quote-aware scanner', () => {
  const cases: [string, string, number[]][] = [
    ['plain rows', 'a,b,c\n1,2,3\n', [3, 3]],
    ['no final newline', 'a,b\n1,2', [2, 2]],
    ['CRLF', 'a,b\r\n1,2\r\n', [2, 2]],
    ['delimiter inside quotes', 'a,b\n"x,y",2\n', [2, 2]],
    ['escaped quotes', 'a,b\n"say ""hi"", ok",2\n', [2, 2]],
    [
      'line breaks inside quotes',
      'a,b\n"line 1\nline 2\r\nline 3",2\n',
      [2, 2]
    ],
    ['empty quoted field', 'a,b\n"",""\n', [2, 2]],
    ['quote inside an unquoted field', 'a,b\n5" pipe,2\n', [2, 2]],
    ['text after a closing quote', 'a,b\n"x"y,2\n', [2, 2]],
    ['blank lines', '\na,b\n\n1,2\r\n\r\n', [2, 2]],
    ['empty fields', 'a,b,c\n,,\n', [3, 3]],
    ['quoted field ending a CRLF row', 'a,b\r\n1,"2"\r\n', [2, 2]]
  ];
  it.each(cases)('%s, in any chunking', (_name, text, expected) => {
    for (const size of [1, 2, 3, 7, 1024]) {
      expect(recordFields(text, size)).toEqual(expected);
    }
  });

  it('reports an unclosed quoted field at the end', () => {
    const scanner = new CsvScanner(44);
    scanner.scan(Buffer.from('a,b\n"open,2\n'), () => true);
    expect(scanner.finish(() => true)).toBe(false);
  });

  it('reads header names, unquoted', () => {
    expect(firstRecordFields('"a ""x""";b;c\n1;2;3', ';', false)).toEqual([
      'a "x"',
      'b',
      'c'
    ]);
    expect(firstRecordFields('a,b', ',', false)).toBeUndefined();
    expect(firstRecordFields('a,b', ',', true)).toEqual(['a', 'b']);
  });

  it('detects the delimiter, ignoring quoted ones', () => {
    const sample = (text: string) => detectDelimiter(Buffer.from(text), true);
    expect(sample('a,b\n1,2\n')).toBe(',');
    expect(sample('a;b;c\n"1,5";2;3\n"2,5";3;4\n')).toBe(';');
    expect(sample('a\tb\n1\t2\n')).toBe('\t');
    expect(sample('a|b\n1|2\n')).toBe('|');
    expect(sample('value\n1\n2\n')).toBe(',');
  });
});

/** What CsvScanner says of `bytes`: records up to the first with other than `expected` fields. */
function scannerVerdict(bytes: Buffer, expected: number) {
  const scanner = new CsvScanner(44);
  let records = 0;
  let mismatch: number | undefined;
  const sink = (fields: number) => {
    records++;
    if (fields === expected) return true;
    mismatch = fields;
    return false;
  };
  const closed = scanner.scan(bytes, sink) ? scanner.finish(sink) : true;
  return { records, mismatch, closed };
}

function checkerVerdict(bytes: Buffer, expected: number, size: number) {
  const checker = new CsvFieldChecker(44, expected);
  let going = true;
  for (let i = 0; going && i < bytes.length; i += size) {
    going = checker.scan(bytes.subarray(i, i + size));
  }
  const closed = going ? checker.finish() : true;
  return { records: checker.records, mismatch: checker.mismatch, closed };
}

describe('SIMD field-count checker', () => {
  it('is assembled from its source as committed', async () => {
    // Generated code must not drift from csv-fields.wat: rerun
    // `node src/datasets/validate/assemble-wasm.cjs` after editing it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const assembler = require('../../src/datasets/validate/assemble-wasm.cjs');
    expect(await assembler.assembleCsvFields()).toBe(CSV_FIELDS_WASM);
  });

  it('agrees with the scanner on every rule case, in any chunking', () => {
    const cases = [
      'a,b,c\n1,2,3\n',
      'a,b\n1,2',
      'a,b\r\n1,2\r\n',
      'a,b\n"x,y",2\n',
      'a,b\n"say ""hi"", ok",2\n',
      'a,b\n"line 1\nline 2\r\nline 3",2\n',
      'a,b\n"",""\n',
      'a,b\n5" pipe,2\n',
      'a,b\n"x"y,2\n',
      '\na,b\n\n1,2\r\n\r\n',
      'a,b\r\n1,"2"\r\n',
      'a,b\n1,2,3\n4,5\n',
      'a,b\n"open,2\n'
    ];
    for (const text of cases) {
      const bytes = Buffer.from(text);
      for (const expected of [1, 2, 3]) {
        const reference = scannerVerdict(bytes, expected);
        for (const size of [1, 2, 3, 7, 15, 16, 17, 1024]) {
          expect([text, size, checkerVerdict(bytes, expected, size)]).toEqual([
            text,
            size,
            reference
          ]);
        }
      }
    }
  });

  it('agrees with the scanner on random CSV-like bytes', () => {
    const pieces = [
      'a',
      'bc',
      ',',
      ',',
      '"',
      '""',
      '\n',
      '\r',
      '\r\n',
      ' ',
      ';'
    ];
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const disagreements: object[] = [];
    for (let round = 0; round < 3000; round++) {
      let text = '';
      const length = Math.floor(random() * 200);
      for (let k = 0; k < length; k++) {
        text += pieces[Math.floor(random() * pieces.length)];
      }
      const bytes = Buffer.from(text);
      const expected = 1 + Math.floor(random() * 3);
      const reference = JSON.stringify(scannerVerdict(bytes, expected));
      for (const size of [1, 5, 16, 33, 4096]) {
        const verdict = JSON.stringify(checkerVerdict(bytes, expected, size));
        if (verdict !== reference) {
          disagreements.push({ text, size, verdict, reference });
        }
      }
    }
    expect(disagreements).toEqual([]);
  });

  it("keeps each checker's state apart and crosses its 1 MB buffer", () => {
    const row = '12345,"quoted, with ""quotes""\nand a line break",x\r\n';
    const big = Buffer.from('a,b,c\r\n' + row.repeat(60000));
    const other = Buffer.from('a;b\n1;2;3\n');
    const checker = new CsvFieldChecker(44, 3);
    const ragged = new CsvFieldChecker(59, 2);
    // Interleaved, as concurrent uploads are.
    for (let i = 0; i < big.length; i += 700000) {
      expect(checker.scan(big.subarray(i, i + 700000))).toBe(true);
      ragged.scan(other);
    }
    expect(checker.finish()).toBe(true);
    expect(checker.records).toBe(60001);
    expect(checker.mismatch).toBeUndefined();
    expect(ragged.records).toBe(2);
    expect(ragged.mismatch).toBe(3);
  });
});

describe('CSV validation', () => {
  it('accepts german_credit with its shape', async () => {
    const result = await validateDatasetFile(GERMAN_CREDIT);
    expect(result).toMatchObject({
      ok: true,
      format: 'csv',
      delimiter: ',',
      encoding: 'utf-8',
      bom: false,
      rows: 1000,
      bytes: fs.statSync(GERMAN_CREDIT).size
    });
    if (result.ok && result.format === 'csv') {
      expect(result.header).toHaveLength(62);
      expect(result.header).toContain('Class');
      expect(result.header[1]).toBe('Amount');
    }
  });

  it('accepts a BOM, semicolons, CRLF and multi-line quoted fields', async () => {
    const text = '\uFEFFname;note\r\n"Ann";"two\r\nlines; here"\r\nBob;x\r\n';
    const result = await validateDatasetFile(file('bom.csv', text));
    expect(result).toMatchObject({
      ok: true,
      delimiter: ';',
      bom: true,
      header: ['name', 'note'],
      rows: 2
    });
  });

  it('counts rows of a file larger than one read, split anywhere', async () => {
    const rows = Array.from({ length: 40000 }, (_, i) => `${i},"t, ${i}"`);
    const result = await validateDatasetFile(
      file('big.csv', `id,text\n${rows.join('\n')}\n`)
    );
    expect(result).toMatchObject({ ok: true, rows: 40000 });
  });

  it.each([
    ['an empty file', '', 'The file is empty'],
    [
      'blank lines only',
      '\n\r\n\n',
      'The file holds no data (only blank lines)'
    ],
    ['a header only', 'a,b,c\n', 'The file has a header row but no data rows'],
    [
      'too many fields',
      'a,b,c,d\n1,2,3,4\n1,2,3,4,5\n',
      'Row 3 has 5 fields; the header has 4'
    ],
    [
      'too few fields',
      'a,b,c\n1,2,3\n1,2\n',
      'Row 3 has 2 fields; the header has 3'
    ],
    [
      'a ragged last row without newline',
      'a,b\n1,2\n3',
      'Row 3 has 1 field; the header has 2'
    ],
    [
      'an unclosed quote',
      'a,b\n1,"2\n3,4\n',
      'The file ends inside a quoted field (row 2)'
    ],
    [
      'duplicate names',
      'id,Name,name,x,x\n1,2,3,4,5\n',
      'The header repeats column names: name, x'
    ],
    [
      'an unnamed column',
      'id,,x\n1,2,3\n',
      'Column 2 of the header has no name; every column needs one'
    ]
  ])('rejects %s', async (_name, content, reason) => {
    expect(await reasonFor(content)).toBe(reason);
  });

  it('finds a ragged row far into the file', async () => {
    const rows = Array.from({ length: 20000 }, (_, i) => `${i},x`);
    rows[15000] = '15000,x,extra';
    expect(await reasonFor(`id,v\n${rows.join('\n')}\n`)).toBe(
      'Row 15002 has 3 fields; the header has 2'
    );
  });

  it('rejects binary content renamed .csv', async () => {
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.from([0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 1, 0])
    ]);
    expect(await reasonFor(png)).toBe('This looks like a binary file, not CSV');
    // Random bytes (fixed, so the test is repeatable).
    let seed = 42;
    const random = Buffer.from(
      Array.from({ length: 4096 }, () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed >> 16;
      }).map(n => n & 0xff)
    );
    expect(await reasonFor(random)).toBe(
      'This looks like a binary file, not CSV'
    );
  });

  it('rejects NUL bytes even late in a text file', async () => {
    const text = `a,b\n${'1,2\n'.repeat(50000)}`;
    const withNul = Buffer.concat([
      Buffer.from(text),
      Buffer.from([0]),
      Buffer.from('3,4\n')
    ]);
    expect(await reasonFor(withNul)).toBe(
      'This looks like a binary file, not CSV'
    );
  });

  it('rejects invalid UTF-8 with the byte offset', async () => {
    const latin1 = Buffer.concat([
      Buffer.from('name,city\nA,K'),
      Buffer.from([0xf6]),
      Buffer.from('ln\n')
    ]);
    expect(await reasonFor(latin1)).toBe(
      'The file is not UTF-8 text (byte 13)'
    );
    // A valid multi-byte character split across reads is fine...
    const prefix = 'a,b\n' + 'x,y\n'.repeat(16383); // 65536 bytes: the first read
    expect(await reasonFor(`${prefix.slice(0, -1)}é\n`)).toBe('ok');
    // ...a truncated one at the very end is not.
    const cut = Buffer.concat([Buffer.from('a,b\n1,2'), Buffer.from([0xc3])]);
    expect(await reasonFor(cut)).toBe('The file is not UTF-8 text (byte 7)');
  });

  it('rejects UTF-16 text with a hint', async () => {
    const utf16 = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from('a,b\n1,2\n', 'utf16le')
    ]);
    expect(await reasonFor(utf16)).toBe(
      'The file is UTF-16 text; save it as UTF-8'
    );
  });

  it('enforces the size limit', async () => {
    const text = `a,b\n${'1,2\n'.repeat(300000)}`; // ≈ 1.2 MB
    expect(await reasonFor(text, 1024 * 1024)).toBe(
      'The file is larger than the limit of 1 MB'
    );
    expect(await reasonFor(text, 2 * 1024 * 1024)).toBe('ok');
  });

  it('ends an upload pipeline early with the reason', async () => {
    const validator = new DatasetValidator();
    let passed = 0;
    const good = Buffer.from(`a,b\n${'1,2\n'.repeat(20000)}`); // past the sample
    const upload = Readable.from(
      (function* () {
        yield good;
        yield Buffer.from('1,2,3\n');
        yield Buffer.from('never read\n');
      })()
    );
    const storage = new Writable({
      write(chunk: Buffer, _encoding, done) {
        passed += chunk.length;
        done();
      }
    });
    const failure = await pipeline(upload, validator, storage).catch(e => e);
    expect(failure).toBeInstanceOf(DatasetValidationError);
    expect(failure.reason).toBe('Row 20002 has 3 fields; the header has 2');
    expect(validator.result).toEqual({ ok: false, reason: failure.reason });
    // Good bytes flow on to storage; the bad chunk and the rest do not.
    expect(passed).toBe(good.length);
  });
});

describe('Parquet validation', () => {
  let parquet: string;
  beforeAll(async () => {
    parquet = path.join(dir, 'good.parquet');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(
      `COPY (SELECT i AS id, i * 1.5 AS amount, 'c' || (i % 3) AS label FROM range(5000) t(i)) TO '${parquet}' (FORMAT parquet)`
    );
    connection.closeSync();
    instance.closeSync();
  });

  it('accepts a Parquet file and reads its row count', async () => {
    expect(await validateDatasetFile(parquet)).toEqual({
      ok: true,
      format: 'parquet',
      encoding: 'binary',
      rows: 5000,
      bytes: fs.statSync(parquet).size
    });
  });

  it('rejects a truncated Parquet file', async () => {
    const bytes = fs.readFileSync(parquet);
    const cut = file(
      'cut.parquet',
      bytes.subarray(0, Math.floor(bytes.length / 2))
    );
    expect(await validateDatasetFile(cut)).toEqual({
      ok: false,
      reason:
        'The Parquet file is truncated or damaged: it does not end with the Parquet marker'
    });
  });

  it('rejects a footer length that does not fit', async () => {
    const bytes = Buffer.from(fs.readFileSync(parquet));
    bytes.writeUInt32LE(bytes.length * 2, bytes.length - 8);
    const result = await validateDatasetFile(
      file('long-footer.parquet', bytes)
    );
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(
      /^The Parquet file is truncated or damaged: the footer length \(\d+ bytes\) does not fit in the file$/
    );
  });

  it('rejects a garbage footer via its schema', async () => {
    const bytes = Buffer.from(fs.readFileSync(parquet));
    const footerLength = bytes.readUInt32LE(bytes.length - 8);
    bytes.fill(0xab, bytes.length - 8 - footerLength, bytes.length - 8);
    const result = await validateDatasetFile(file('garbage.parquet', bytes));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(
      /^The Parquet file is truncated or damaged: \S/
    );
  });
});
