import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { profileDataset } from '../../src/datasets/profile';

const GERMAN_CREDIT =
  process.env.INSIGHTER_TEST_GERMAN_CREDIT ??
  '/work/shared/data/german_credit.csv';
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-profile-test-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('profileDataset', () => {
  it('profiles german_credit with counts matching a direct computation', async () => {
    const lines = fs.readFileSync(GERMAN_CREDIT, 'utf8').trim().split('\n');
    const amounts = lines.slice(1).map(line => Number(line.split(',')[1]));
    const mean = amounts.reduce((a, b) => a + b, 0) / amounts.length;

    const profile = await profileDataset(GERMAN_CREDIT, 'csv');
    expect(profile.row_count).toBe(1000);
    expect(profile.column_count).toBe(62);
    expect(profile.columns).toHaveLength(62);

    const amount = profile.columns.find(c => c.name === 'Amount')!;
    expect(amount.type).toBe('BIGINT');
    expect(amount.null_count).toBe(0);
    expect(amount.min).toBe(Math.min(...amounts));
    expect(amount.max).toBe(Math.max(...amounts));
    expect(amount.mean).toBeCloseTo(mean, 6);
    expect(amount.q25!).toBeLessThan(amount.q50!);
    expect(amount.q50!).toBeLessThan(amount.q75!);
    // Every row is in the sample of a small file: the count is exact.
    expect(amount.distinct_approx).toBe(new Set(amounts).size);
    const bins = amount.histogram!.bins;
    expect(bins).toHaveLength(20);
    expect(bins[0].lower).toBe(250);
    expect(bins[19].upper).toBe(18424);
    expect(bins.reduce((sum, bin) => sum + bin.count, 0)).toBe(1000);

    const target = profile.columns.find(c => c.name === 'Class')!;
    expect(target.type).toBe('VARCHAR');
    expect(target.mean).toBeNull();
    expect(target.histogram).toBeUndefined();
    expect(target.top_values).toEqual([
      { value: 'Good', count: 700 },
      { value: 'Bad', count: 300 }
    ]);

    expect(profile.preview.columns).toHaveLength(62);
    expect(profile.preview.rows).toHaveLength(20);
    expect(profile.preview.rows[0].slice(0, 2)).toEqual([6, 1169]);
    expect(profile.preview.rows[0][9]).toBe('Good');
    expect(() => JSON.stringify(profile)).not.toThrow();
  });

  it('profiles a Parquet file with nulls, dates and big integers', async () => {
    const parquet = path.join(dir, 'mixed.parquet');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(
      `COPY (SELECT i AS id,
                    CASE WHEN i % 10 = 0 THEN NULL ELSE i * 0.5 END AS score,
                    DATE '2024-01-01' + i::INTEGER AS day,
                    TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (i) MINUTE AS at,
                    9007199254740993::BIGINT + i AS big,
                    ['red', 'green', 'green', 'blue'][i % 4 + 1] AS colour,
                    i % 3 = 0 AS flag
             FROM range(1000) t(i)) TO '${parquet}' (FORMAT parquet)`
    );
    connection.closeSync();
    instance.closeSync();

    const profile = await profileDataset(parquet, 'parquet');
    expect(profile.row_count).toBe(1000);
    expect(profile.column_count).toBe(7);
    const byName = Object.fromEntries(profile.columns.map(c => [c.name, c]));
    expect(byName.score.null_count).toBe(100);
    expect(byName.score.min).toBe(0.5);
    expect(byName.score.max).toBe(499.5);
    expect(byName.score.histogram!.bins.reduce((s, b) => s + b.count, 0)).toBe(
      900
    );
    expect(byName.day.min).toBe('2024-01-01');
    expect(byName.day.mean).toBeNull();
    expect(byName.at.min).toBe('2024-01-01T00:00:00');
    // Beyond 2^53: kept exact as a string.
    expect(byName.big.min).toBe('9007199254740993');
    expect(byName.colour.top_values).toEqual([
      { value: 'green', count: 500 },
      { value: 'blue', count: 250 },
      { value: 'red', count: 250 }
    ]);
    // A boolean column's distribution: its two values, counted.
    expect(byName.flag.top_values).toEqual([
      { value: false, count: 666 },
      { value: true, count: 334 }
    ]);
    expect(byName.flag.distinct_approx).toBe(2);
    expect(profile.preview.rows[1]).toEqual([
      1,
      0.5,
      '2024-01-02',
      '2024-01-01T00:01:00',
      '9007199254740994',
      'green',
      false
    ]);
  });

  it('infers types from every row when a late row breaks the sample', async () => {
    const rows = Array.from({ length: 30000 }, (_, i) => `${i},${i}`);
    rows.push('30000,not a number');
    const csv = path.join(dir, 'late-text.csv');
    fs.writeFileSync(csv, `id,value\n${rows.join('\n')}\n`);
    const profile = await profileDataset(csv, 'csv');
    expect(profile.row_count).toBe(30001);
    expect(profile.columns[1].type).toBe('VARCHAR');
  });

  it('samples a large file: exact counts and extremes, close quartiles, histograms and top values', async () => {
    const rows = 60000;
    const lines = ['id,amount,colour'];
    for (let i = 0; i < rows; i++) {
      // amount: 0..999 uniformly, empty every 10th row; colour 60/30/10 %.
      const amount = i % 10 === 9 ? '' : String((i * 7) % 1000);
      const colour = i % 10 < 6 ? 'red' : i % 10 < 9 ? 'green' : 'blue';
      lines.push(`${i},${amount},${colour}`);
    }
    const csv = path.join(dir, 'sampled.csv');
    fs.writeFileSync(csv, lines.join('\n') + '\n');

    const profile = await profileDataset(csv, 'csv', { sampleRows: 6000 });
    expect(profile.row_count).toBe(rows);
    // A Bernoulli sample of about a tenth.
    expect(profile.sample_rows).toBeGreaterThan(5000);
    expect(profile.sample_rows).toBeLessThan(7000);

    const [id, amount, colour] = profile.columns;
    expect(id.min).toBe(0);
    expect(id.max).toBe(rows - 1);
    expect(id.mean).toBe((rows - 1) / 2);
    expect(amount.null_count).toBe(rows / 10);
    expect(amount.min).toBe(0);
    expect(amount.max).toBe(999);
    expect(amount.q50!).toBeGreaterThan(450);
    expect(amount.q50!).toBeLessThan(550);
    expect(amount.q25!).toBeGreaterThan(200);
    expect(amount.q75!).toBeLessThan(800);

    // Scaled to the column: the bins add up to its values exactly.
    const bins = amount.histogram!.bins;
    expect(bins).toHaveLength(20);
    expect(bins[0].lower).toBe(0);
    expect(bins[19].upper).toBe(999);
    expect(bins.reduce((sum, bin) => sum + bin.count, 0)).toBe(
      rows - rows / 10
    );
    for (const bin of bins) {
      // 2,700 values per bin, about 270 sampled: ± 5 standard deviations.
      expect(bin.count).toBeGreaterThan(1850);
      expect(bin.count).toBeLessThan(3550);
    }
    const idBins = id.histogram!.bins;
    expect(idBins.reduce((sum, bin) => sum + bin.count, 0)).toBe(rows);

    // Categories the sample saw all of: counted exactly. Amounts: 900 values
    // (none ends in 3), ≈ 6 sampled each, a couple never: within 1 % (the
    // sketch alone said 1,186 here).
    expect(colour.distinct_approx).toBe(3);
    expect(Math.abs(amount.distinct_approx - 900)).toBeLessThanOrEqual(9);
    expect(id.distinct_approx).toBeGreaterThan(0.9 * rows);
    expect(id.distinct_approx).toBeLessThanOrEqual(rows);
    expect(colour.top_values!.map(top => top.value)).toEqual([
      'red',
      'green',
      'blue'
    ]);
    const [red, green, blue] = colour.top_values!.map(top => top.count);
    expect(red).toBeGreaterThan(0.55 * rows);
    expect(red).toBeLessThan(0.65 * rows);
    expect(green).toBeGreaterThan(0.25 * rows);
    expect(green).toBeLessThan(0.35 * rows);
    expect(blue).toBeGreaterThan(0.07 * rows);
    expect(blue).toBeLessThan(0.13 * rows);
    // The first rows, not a sample of them.
    expect(profile.preview.rows.slice(0, 2)).toEqual([
      [0, 0, 'red'],
      [1, 7, 'red']
    ]);
  });

  it('gives a single bin to a constant numeric column', async () => {
    const csv = path.join(dir, 'constant.csv');
    fs.writeFileSync(csv, 'k,v\n7,a\n7,b\n7,c\n');
    const profile = await profileDataset(csv, 'csv');
    expect(profile.columns[0].histogram).toEqual({
      bins: [{ lower: 7, upper: 7, count: 3 }]
    });
    // Every value distinct: a top list would say nothing.
    expect(profile.columns[1].top_values).toBeUndefined();
  });
});
