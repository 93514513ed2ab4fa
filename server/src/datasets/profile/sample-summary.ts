import type { Json } from '@duckdb/node-api';

/**
 * What both profiles (DuckDB's for Parquet, the streaming one for CSV)
 * make of a column's sample: histogram bins between the exact extremes,
 * quartiles, top values and a distinct count, each scaled from the sample
 * to the whole column. The profile's histograms and top values are sample
 * counts times `scale` (1 when the sample is every row).
 */

export interface HistogramBin {
  lower: number;
  upper: number;
  count: number;
}

/** Equal-width bin of `value` over [min, max]: the max in the last bin. */
export function binOf(
  value: number,
  min: number,
  max: number,
  bins: number
): number {
  const width = (max - min) / bins;
  return width > 0 ? Math.min(Math.floor((value - min) / width), bins - 1) : 0;
}

/**
 * Equal-width bins over [min, max] (the max in the last bin) from the
 * sample's bin counts (`counts[bin]`). Scaled counts are rounded so that
 * they add up to the scaled total (largest remainders), and the bins
 * holding the min and the max keep at least one value: they do hold one.
 */
export function histogramBins(
  min: number,
  max: number,
  counts: number[],
  bins: number,
  scale: number
): { bins: HistogramBin[] } | undefined {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return undefined;
  const width = (max - min) / bins;
  const binCount = width > 0 ? bins : 1;
  let filled = Array.from({ length: binCount }, (_, b) => counts[b] ?? 0);
  if (scale !== 1) filled = scalePartition(filled, scale);
  return {
    bins: filled.map((count, b) => ({
      lower: width > 0 ? min + b * width : min,
      upper: width > 0 ? (b === bins - 1 ? max : min + (b + 1) * width) : max,
      count
    }))
  };
}

function scalePartition(counts: number[], scale: number): number[] {
  const scaled = counts.map(count => count * scale);
  const total = Math.round(scaled.reduce((sum, value) => sum + value, 0));
  const rounded = scaled.map(Math.floor);
  const last = rounded.length - 1;
  rounded[0] = Math.max(rounded[0], 1);
  rounded[last] = Math.max(rounded[last], 1);
  let missing = total - rounded.reduce((sum, count) => sum + count, 0);
  const byRemainder = scaled
    .map((value, b) => ({ b, remainder: value - Math.floor(value) }))
    .sort((a, b) => b.remainder - a.remainder);
  for (let k = 0; missing > 0; k = (k + 1) % byRemainder.length, missing--) {
    rounded[byRemainder[k].b]++;
  }
  // Only after lifting an empty end bin: take it from the fullest.
  for (; missing < 0; missing++) {
    rounded[rounded.indexOf(Math.max(...rounded))]--;
  }
  return rounded;
}

/**
 * DuckDB's `quantile_cont` of sorted values: linear interpolation between
 * the two nearest ranks.
 */
export function quantileOfSorted(sorted: Float64Array, q: number): number {
  const rank = (sorted.length - 1) * q;
  const below = Math.floor(rank);
  const above = Math.ceil(rank);
  if (below === above) return sorted[below];
  return sorted[below] + (rank - below) * (sorted[above] - sorted[below]);
}

/** Below this share of values seen once, the sample has (nearly) all values. */
const SATURATED_SINGLETONS = 0.1;

/**
 * Distinct values of a column. HyperLogLog's sketch over every row errs
 * either way by several per cent where people look closest — a column of
 * codes or categories (on 997 distinct texts in 16 M rows DuckDB's said
 * 909; on German Credit's 921 amounts, 975). The sample does better
 * there: `timesSeen` maps "seen k times" to how many values were, so the
 * sample's distinct values are its sum. When the sample is every row that
 * sum is exact; when few values were seen only once the sample holds
 * nearly all of them, and Chao1 (n₁²/2n₂, bias-corrected) adds the few it
 * missed. Otherwise — ids, free text — the sketch, never below what the
 * sample saw nor above the non-null values.
 */
export function distinctEstimate(
  sketch: number,
  timesSeen: Map<number, number> | undefined,
  nonNull: number,
  exact: boolean
): number {
  const seen = [...(timesSeen?.values() ?? [])].reduce((sum, n) => sum + n, 0);
  if (exact && timesSeen) {
    return seen;
  }
  const once = timesSeen?.get(1) ?? 0;
  const twice = timesSeen?.get(2) ?? 0;
  const estimate =
    seen > 0 && once <= SATURATED_SINGLETONS * seen
      ? seen + (once * (once - 1)) / (2 * (twice + 1))
      : sketch;
  return Math.min(Math.max(Math.round(estimate), seen), nonNull);
}

/** "Seen k times" → how many values, from each value's count. */
export function timesSeenOf(counts: Iterable<number>): Map<number, number> {
  const timesSeen = new Map<number, number>();
  for (const count of counts) {
    timesSeen.set(count, (timesSeen.get(count) ?? 0) + 1);
  }
  return timesSeen;
}

/** DuckDB's `{key, value}` map entries as a Map of numbers. */
export function numberMap(
  entries: { key: Json; value: Json }[] | null
): Map<number, number> {
  return new Map(
    (entries ?? []).map(entry => [Number(entry.key), Number(entry.value)])
  );
}

export interface TopValue {
  value: Json;
  count: number;
}

/**
 * The most frequent values first, ties in their given order; counts
 * scaled and rounded, re-sorted after scaling (ties alphabetically).
 */
export function scaledTopValues(top: TopValue[], scale: number): TopValue[] {
  return top
    .map(entry => ({
      value: entry.value,
      count: Math.round(entry.count * scale)
    }))
    .sort(
      (a, b) =>
        b.count - a.count || (String(a.value) < String(b.value) ? -1 : 1)
    );
}
