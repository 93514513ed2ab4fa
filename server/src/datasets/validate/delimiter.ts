import { CsvScanner } from './csv-scanner';

export const DELIMITERS = [',', ';', '\t', '|'] as const;

/** Records of the sample looked at per candidate. */
const SAMPLE_RECORDS = 50;

/**
 * Picks the delimiter that splits the sample's first records into the same
 * number (> 1) of fields, preferring more fields, quote-aware (a `;` inside
 * a quoted field does not count). If none is consistent, the one giving the
 * header the most fields wins (the row scan then reports the ragged row);
 * a file with one column gets `,`.
 */
export function detectDelimiter(sample: Uint8Array, atEnd: boolean): string {
  let best: { delimiter: string; fields: number; consistent: boolean } = {
    delimiter: ',',
    fields: 1,
    consistent: false
  };
  for (const delimiter of DELIMITERS) {
    const counts: number[] = [];
    const scanner = new CsvScanner(delimiter.charCodeAt(0));
    const collect = (fields: number): boolean => {
      counts.push(fields);
      return counts.length < SAMPLE_RECORDS;
    };
    if (scanner.scan(sample, collect) && atEnd) scanner.finish(collect);
    if (counts.length === 0) continue;
    const fields = counts[0];
    const consistent = counts.every(count => count === fields);
    if (fields < 2) continue;
    const better =
      (consistent && !best.consistent) ||
      (consistent === best.consistent && fields > best.fields);
    if (better) best = { delimiter, fields, consistent };
  }
  return best.delimiter;
}
