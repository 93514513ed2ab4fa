/** Enough for quartiles within ≈ 0.2 % of rank and bins within ≈ 1 %. */
const DEFAULT_SAMPLE_ROWS = 100_000;
/**
 * Sampled cells held at once (each column's sample, text values as
 * strings): wide files get fewer rows so memory stays bounded.
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
