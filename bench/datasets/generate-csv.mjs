// A reproducible CSV of about `megabytes` MB for the dataset benchmark:
// integers, decimals with empty (null) cells, low-cardinality text with
// empties, a quoted text column holding the delimiter, and dates — the mix
// a real upload has, so no engine gets an all-numeric easy case.
// Standalone: node bench/datasets/generate-csv.mjs <file> [MB]
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const HEADER = 'id,amount,score,ratio,city,segment,note,day\n';
const CITIES = ['Berlin', 'Paris', 'Rome', 'Oslo', 'Madrid', 'Lisbon', 'Porto'];
const SEGMENTS = ['retail', 'sme', 'corporate', ''];
const ROWS_PER_WRITE = 20000;
// Formatting numbers dominates generation: draw from precomputed strings.
const DAYS = Array.from(
  { length: 84 },
  (_, k) =>
    `2024-${String((k % 12) + 1).padStart(2, '0')}-${String((k % 28) + 1).padStart(2, '0')}`
);
const RATIOS = Array.from({ length: 4099 }, (_, k) => Math.sin(k).toFixed(6));

/** Writes the file; returns its size in bytes and its data rows. */
export function generateCsvFile(file, megabytes) {
  const out = fs.openSync(file, 'w');
  const target = megabytes * 1024 * 1024;
  let written = fs.writeSync(out, HEADER);
  let i = 0;
  try {
    while (written < target) {
      let chunk = '';
      for (let k = 0; k < ROWS_PER_WRITE; k++, i++) {
        const amount = i % 17 === 0 ? '' : ((i * 7919) % 1000003) / 100;
        chunk += `${i},${amount},${i % 101},${RATIOS[i % 4099]},${CITIES[i % 7]},${SEGMENTS[(i >> 3) % 4]},"note ${i % 997}, ok",${DAYS[i % 84]}\n`;
      }
      written += fs.writeSync(out, chunk);
    }
  } finally {
    fs.closeSync(out);
  }
  return { bytes: written, rows: i };
}

/** The file's size in bytes (for callers that need no row count). */
export function generateCsv(file, megabytes) {
  return generateCsvFile(file, megabytes).bytes;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, mb = '256'] = process.argv.slice(2);
  const start = performance.now();
  const { bytes, rows } = generateCsvFile(file, Number(mb));
  console.log(
    `${(bytes / 2 ** 20).toFixed(0)} MB, ${rows} rows in ${((performance.now() - start) / 1000).toFixed(1)} s`
  );
}
