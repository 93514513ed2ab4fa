import fs from 'node:fs';

/** Enough for quartiles within ≈ 0.2 % of rank and bins within ≈ 1 %. */
const DEFAULT_SAMPLE_ROWS = 100_000;
/**
 * Sampled cells held at once (DuckDB keeps each column's sample, text
 * values as strings): wide files get fewer rows so memory stays bounded.
 */
const SAMPLE_CELL_BUDGET = 2_000_000;
const MIN_SAMPLE_ROWS = 10_000;

export function sampleRowsFor(columns: number, requested?: number): number {
  if (requested !== undefined) return requested;
  return Math.max(
    MIN_SAMPLE_ROWS,
    Math.min(DEFAULT_SAMPLE_ROWS, Math.floor(SAMPLE_CELL_BUDGET / columns))
  );
}

const PROBES = 16;
const PROBE_BYTES = 64 * 1024;

/**
 * The rows of a CSV estimated from line breaks in a few windows spread
 * over the file (a millisecond, not a scan): rows vary in length along a
 * file (ids grow, a text column fills in), so one window from the start
 * would misjudge it. Line breaks inside quoted fields count as rows, which
 * only makes the sample a little smaller.
 */
export function estimateCsvRows(file: string): number {
  const size = fs.statSync(file).size;
  if (size <= PROBES * PROBE_BYTES) return countNewlines(file, size);
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(PROBE_BYTES);
    let newlines = 0;
    for (let k = 0; k < PROBES; k++) {
      const position = Math.floor(((size - PROBE_BYTES) * k) / (PROBES - 1));
      const read = fs.readSync(fd, buffer, 0, PROBE_BYTES, position);
      newlines += countIn(buffer.subarray(0, read));
    }
    return Math.round((newlines / (PROBES * PROBE_BYTES)) * size);
  } finally {
    fs.closeSync(fd);
  }
}

function countNewlines(file: string, length: number): number {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    return countIn(buffer.subarray(0, fs.readSync(fd, buffer, 0, length, 0)));
  } finally {
    fs.closeSync(fd);
  }
}

function countIn(bytes: Buffer): number {
  let count = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) {
    count++;
  }
  return count;
}
