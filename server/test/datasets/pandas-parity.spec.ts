import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { profileDataset } from '../../src/datasets/profile';
import { NA_VALUES } from '../../src/datasets/profile/pandas-values';
import type { DatasetProfile } from '../../src/datasets/profile/profile-types';
import { PYTHON } from '../../src/jobs/training-package';
import { GERMAN_CREDIT } from '../support/shared-data';

/**
 * The catalog shows a CSV as pandas reads it (the notebook's, the
 * trainer's and the prediction signature's view): every column's type,
 * missing values, first rows and statistics are held against the real
 * `pd.read_csv` of the same file (Debian's pandas, through the
 * interpreter the kernels and the trainer use).
 */
const PANDAS_VIEW = String.raw`
import json, math, sys, warnings
import numpy as np, pandas as pd
warnings.simplefilter('ignore')
df = pd.read_csv(sys.argv[1])
rows = int(sys.argv[2])

def value(v):
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v) if abs(int(v)) <= 2 ** 53 else str(int(v))
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return None
        if math.isinf(v):
            return 'inf' if v > 0 else '-inf'
        return float(v)
    return v

def kind(series):
    dtype = str(series.dtype)
    if dtype == 'object':
        present = series.dropna()
        if len(present) > 0 and all(isinstance(v, (bool, np.bool_)) for v in present):
            return 'BOOLEAN'
        return 'VARCHAR'
    return {'int64': 'BIGINT', 'uint64': 'UBIGINT', 'float64': 'DOUBLE', 'bool': 'BOOLEAN'}[dtype]

columns = []
for name in df.columns:
    series = df[name]
    column = {'name': name, 'type': kind(series), 'nulls': int(series.isna().sum())}
    if column['type'] in ('BIGINT', 'UBIGINT', 'DOUBLE') and series.notna().any():
        column.update(min=value(series.min()), max=value(series.max()),
                      mean=value(series.mean()), std=value(series.std()))
    columns.append(column)
print(json.dumps({
    'rows': len(df),
    'columns': columns,
    'head': [[value(v) for v in row] for row in df.head(rows).astype(object).values.tolist()],
    'na_values': sorted(pd._libs.parsers.STR_NA_VALUES),
}))
`;

interface PandasView {
  rows: number;
  columns: {
    name: string;
    type: string;
    nulls: number;
    min?: number | string;
    max?: number | string;
    mean?: number;
    std?: number;
  }[];
  head: unknown[][];
  na_values: string[];
}

function pandasView(file: string, rows: number): PandasView {
  return JSON.parse(
    execFileSync(PYTHON, ['-c', PANDAS_VIEW, file, String(rows)], {
      maxBuffer: 64 * 1024 * 1024
    }).toString()
  );
}

/** Type, nulls, first rows and numeric statistics: the catalog's as pandas'. */
function expectAsPandas(profile: DatasetProfile, pandas: PandasView): void {
  expect(profile.row_count).toBe(pandas.rows);
  expect(profile.columns.map(c => [c.name, c.type])).toEqual(
    pandas.columns.map(c => [c.name, c.type])
  );
  profile.columns.forEach((column, i) => {
    const expected = pandas.columns[i];
    expect([column.name, column.null_count]).toEqual([
      expected.name,
      expected.nulls
    ]);
    if (expected.min === undefined) return;
    expect([column.name, column.min, column.max]).toEqual([
      expected.name,
      expected.min,
      expected.max
    ]);
    // NaN (inf - inf) or infinite in pandas: no mean or std here.
    const finite = (v: number | string | undefined | null) =>
      typeof v === 'number' ? v : null;
    if (finite(expected.mean) === null) expect(column.mean).toBeNull();
    else expect(column.mean).toBeCloseTo(expected.mean!, 6);
    if (finite(expected.std) === null) expect(column.std).toBeNull();
    else {
      expect(Math.abs(column.std! - expected.std!)).toBeLessThanOrEqual(
        1e-9 * Math.max(1, expected.std!)
      );
    }
  });
  expect(profile.preview.rows).toEqual(pandas.head);
}

let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-pandas-parity-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function csv(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

async function profileOf(file: string, rows = 100): Promise<DatasetProfile> {
  return profileDataset(file, 'csv', { previewRows: rows });
}

describe('the catalog reads a CSV as pandas does', () => {
  it("knows pandas' own missing-value strings", () => {
    const { na_values } = pandasView(csv('tiny.csv', 'a\n1\n'), 1);
    expect([...NA_VALUES].sort()).toEqual(na_values);
  });

  it('German Credit: every column and the first 100 rows', async () => {
    expectAsPandas(
      await profileOf(GERMAN_CREDIT),
      pandasView(GERMAN_CREDIT, 100)
    );
  });

  it("the benchmark's generated file: nulls, decimals, quoted text and dates", async () => {
    const file = path.join(dir, 'bench.csv');
    execFileSync(process.execPath, [
      path.resolve(__dirname, '../../../bench/datasets/generate-csv.mjs'),
      file,
      '2'
    ]);
    expectAsPandas(await profileOf(file, 200), pandasView(file, 200));
  });

  it('yes/no stays text, True/False is boolean, leading zeros are numbers, dates are text', async () => {
    const file = csv(
      'credit_data.csv',
      [
        'Status,Records,Flag,Code,Since,Amount,Segment,Paid',
        'good,no,True,007,2019-03-01,800.50,A,TRUE',
        'bad,yes,False,010,2020-11-15,,B,false',
        'good,no,True,000,2021-01-31,1200,,',
        'good,yes,False,042,2018-06-30,15.25,A,True'
      ].join('\n') + '\n'
    );
    const profile = await profileOf(file);
    expectAsPandas(profile, pandasView(file, 100));
    const byName = Object.fromEntries(profile.columns.map(c => [c.name, c]));
    expect(byName.Records.type).toBe('VARCHAR');
    expect(byName.Records.top_values).toEqual([
      { value: 'no', count: 2 },
      { value: 'yes', count: 2 }
    ]);
    expect(byName.Flag.type).toBe('BOOLEAN');
    // A boolean column has a distribution too: its two values, counted.
    expect(byName.Flag.top_values).toEqual([
      { value: false, count: 2 },
      { value: true, count: 2 }
    ]);
    expect(byName.Paid.type).toBe('BOOLEAN');
    expect(byName.Paid.null_count).toBe(1);
    expect(byName.Code).toMatchObject({ type: 'BIGINT', min: 0, max: 42 });
    expect(byName.Since).toMatchObject({
      type: 'VARCHAR',
      min: '2018-06-30',
      max: '2021-01-31'
    });
    expect(profile.preview.rows[0]).toEqual([
      'good',
      'no',
      true,
      7,
      '2019-03-01',
      800.5,
      'A',
      true
    ]);
  });

  it("follows pandas' rules at their edges", async () => {
    const columns: Record<string, string[]> = {
      // int64 with a missing value: float64.
      ints_with_na: ['1', '', '3', 'NA', '-5'],
      // Only missing values: float64 of NaN.
      all_missing: ['', 'NA', 'null', 'NaN', 'n/a'],
      // "None" is no missing value in pandas 1.5: text.
      none_word: ['None', 'x', 'y', 'None', 'z'],
      spaces: [' 7', '8 ', '"  9"', '+10', '-0'],
      decimals: ['.5', '5.', '1e3', '-2.5E-2', '0.30000000000000004441'],
      infinities: ['inf', '-Infinity', '+INF', '1.5', 'iNf'],
      beyond_int64: [
        '9223372036854775808',
        '18446744073709551615',
        '1',
        '2',
        '3'
      ],
      beyond_uint64: ['18446744073709551616', '1', '2', '3', '4'],
      uint64_and_negative: ['9223372036854775808', '-1', '2', '3', '4'],
      too_large_float: ['1e400', '1', '2', '3', '4'],
      bool_with_na: ['True', '', 'FALSE', 'true', 'False'],
      not_booleans: ['t', 'f', 'T', 'F', 'yes'],
      hex_and_underscores: ['0x1A', '1_000', '12', '13', '14'],
      quoted: ['"a ""b"" c"', '"x"y', '"1,5"', '"NA"', '"12"'],
      long_integers: [
        '123456789012345678',
        '-9223372036854775808',
        '0000000000000000042',
        '5',
        '6'
      ]
    };
    const names = Object.keys(columns);
    const lines = [names.join(',')];
    for (let row = 0; row < 5; row++) {
      lines.push(names.map(name => columns[name][row]).join(','));
    }
    const file = csv('edges.csv', lines.join('\r\n') + '\r\n');
    expectAsPandas(await profileOf(file), pandasView(file, 100));
  });

  it('skips blank lines, spaces-only ones too, as pandas does', async () => {
    const file = csv('blank-lines.csv', 'value\n\n1\n   \n\t\n2\r\n\r\n3\n');
    const profile = await profileOf(file);
    expectAsPandas(profile, pandasView(file, 100));
    expect(profile.row_count).toBe(3);
  });

  it('agrees with pandas on random columns of numbers, words and gaps', async () => {
    const pools = [
      ['1', '2', '-3', '007', '42', '', 'NA'],
      ['1.5', '2', '-0.25', '', '3e2', '1.0'],
      ['True', 'False', 'true', 'FALSE', ''],
      ['yes', 'no', 'Yes', ''],
      ['2024-01-01', '2024-12-31', '', 'N/A'],
      ['a', 'b', '"c,d"', '', 'null', '0'],
      ['1', '2', '3', 'x']
    ];
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const width = 12;
    const picks = Array.from({ length: width }, () =>
      Math.floor(random() * pools.length)
    );
    const lines = [picks.map((_, i) => `c${i}`).join(',')];
    for (let row = 0; row < 400; row++) {
      lines.push(
        picks
          .map(pool => {
            const values = pools[pool];
            // Mostly the pool's first values, now and then its odd ones.
            const k = Math.floor(random() ** 3 * values.length);
            return values[k];
          })
          .join(',')
      );
    }
    const file = csv('random.csv', lines.join('\n') + '\n');
    expectAsPandas(await profileOf(file, 400), pandasView(file, 400));
  });
});
