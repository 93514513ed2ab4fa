import { Kind, type CsvTokens, type FieldSink } from './csv-tokens';
import { hashBytes, hashNumber, HyperLogLog } from './hyperloglog';
import {
  bigIntegerOf,
  booleanOf,
  NA_VALUES,
  naIndex,
  NumberKind,
  parseNumber,
  unsignedKind,
  type ParsedNumber
} from './pandas-values';

/** The column types of a CSV, named as DuckDB names them (Parquet's profile). */
export type CsvColumnType =
  'BIGINT' | 'UBIGINT' | 'DOUBLE' | 'BOOLEAN' | 'VARCHAR';

/**
 * A column's type as pandas' `read_csv` infers it, and whether the
 * missing-value strings are missing (pandas keeps them as text in one
 * corner: see `ColumnAccumulator.type`).
 */
export interface ColumnType {
  type: CsvColumnType;
  naFiltered: boolean;
}

const enum IntError {
  None,
  Overflow,
  Invalid
}

/** pandas' second try once a value overflows int64 (`_try_uint64`). */
interface UnsignedPass {
  error: 'none' | 'overflow' | 'invalid';
  signed: boolean;
  unsigned: boolean;
  nulls: boolean;
}

const parsed: ParsedNumber = {
  value: 0,
  negative: false,
  digitsStart: 0,
  digitsEnd: 0
};

const MINUS = 0x2d;
const EXACT_INTEGER = 2 ** 53;

/**
 * One CSV column's exact statistics over every value, in one pass, with
 * pandas' type inference running alongside: pandas tries int64 (uint64
 * once a value overflows it), then float64, then bool, then keeps text,
 * each try over the whole column; here the same verdicts follow from
 * flags kept as the values go by. Numbers (min, max, mean, Welford's
 * variance, a sketch of distinct values) are kept while the column may be
 * numeric, text extremes (bytewise, as DuckDB orders text) all along,
 * since a late value can still make it text.
 *
 * Fields come in batches from the tokenizer (`take`), which has read the
 * commonest forms already (csv-tokens.wat: a number's value, a hash, the
 * first eight bytes as two big-endian words); the rest, as bytes, is read
 * here (`add`, by pandas-values.ts).
 */
export class ColumnAccumulator implements FieldSink {
  nulls = 0;
  /** Which of NA_VALUES occurred (bit k: NA_VALUES[k]). */
  private nullWords = 0;
  values = 0;
  private intError = IntError.None;
  private floatFailed = false;
  private boolFailed = false;
  /** A value with a minus sign before int64 overflowed (uint64 then fails). */
  private minusSeen = false;
  private unsignedPass: UnsignedPass | undefined;

  numbers = 0;
  min = Infinity;
  max = -Infinity;
  /**
   * The running mean and sum of squared deviations: Welford's update for
   * a value, Chan's merge for a batch (`take`).
   */
  private mean = 0;
  private m2 = 0;
  /** Exact extremes once an integer needs more than a double's 53 bits. */
  private bigMin: bigint | undefined;
  private bigMax: bigint | undefined;

  trues = 0;
  falses = 0;

  private textMin: Buffer | undefined;
  private textMax: Buffer | undefined;
  /** Their first eight bytes, big-endian: most values are placed by these. */
  private minHigh = 0;
  private minLow = 0;
  private maxHigh = 0;
  private maxLow = 0;

  readonly distinct = new HyperLogLog();

  /**
   * One column of a batch of records, in order. The commonest fields
   * update the statistics in this loop, held in locals; the others go
   * through `add` (the locals stored before and loaded after).
   */
  take(tokens: CsvTokens, column: number, rows: number): void {
    const { values, words, bytes, memory } = tokens;
    const registers = this.distinct.registers;
    // The batch's numbers as sums of deviations from a shift: the mean so
    // far (a value of the batch at first). Close to the mean, the sum of
    // squares loses no precision, and no value waits on a division.
    let shift = this.numbers > 0 ? this.mean : NaN;
    let count = 0;
    let deviations = 0;
    let squares = 0;
    let { min, max, nulls, minHigh, maxHigh } = this;
    let taken = this.values;
    let texts = 0;
    let empties = 0;
    // Cleared once a value is not an integer, as `intError` is set then.
    let integers = this.intError === IntError.None;
    let minusSeen = this.minusSeen;
    const store = () => {
      Object.assign(this, { min, max, nulls, minusSeen, values: taken });
      if (empties > 0) this.nullWords |= 1;
      empties = 0;
      if (!integers && this.intError === IntError.None) {
        this.intError = IntError.Invalid;
      }
      if (texts > 0) this.floatFailed = this.boolFailed = true;
      texts = 0;
      if (count === 0) return;
      this.boolFailed = true;
      const mean = shift + deviations / count;
      const m2 = squares - (deviations * deviations) / count;
      const n = this.numbers + count;
      const delta = mean - this.mean;
      this.m2 += Math.max(0, m2) + (delta * delta * this.numbers * count) / n;
      this.mean += (delta * count) / n;
      this.numbers = n;
      count = deviations = squares = 0;
    };
    const load = () => {
      ({ min, max, nulls, minHigh, maxHigh, minusSeen } = this);
      taken = this.values;
      integers = this.intError === IntError.None;
      if (this.numbers > 0) shift = this.mean;
    };
    const unsigned = this.unsignedPass !== undefined;
    const end = tokens.first(column) + rows;
    for (let k = tokens.first(column); k < end; k++) {
      const kind = bytes[32 * k + 28] as Kind;
      const w = 8 * k;
      if (kind > Kind.Empty || unsigned || this.unsignedPass !== undefined) {
        store();
        if (kind === Kind.Quoted) {
          const s = tokens.unquoted(words[w + 5], words[w + 6]);
          this.add(s, 0, tokens.unquotedLength);
        } else {
          this.add(memory, words[w + 5], words[w + 6]);
        }
        load();
        continue;
      }
      if (kind === Kind.Empty) {
        nulls++;
        empties++;
        continue;
      }
      taken++;
      if (kind === Kind.Text) {
        integers = false;
        texts++;
      } else {
        const value = values[4 * k];
        if (integers) {
          if (kind === Kind.Decimal) integers = false;
          else if (memory[words[w + 5]] === MINUS) minusSeen = true;
        }
        if (value < min) min = value;
        if (value > max) max = value;
        if (shift !== shift) shift = value;
        const deviation = value - shift;
        deviations += deviation;
        squares += deviation * deviation;
        count++;
      }
      const hash = words[w + 2];
      const index = hash >>> 18;
      const rank = Math.clz32((hash << 14) | 0x2000) + 1;
      if (rank > registers[index]) registers[index] = rank;
      const high = words[w + 3];
      if (high <= minHigh || high >= maxHigh || this.textMin === undefined) {
        this.extremes(high, words[w + 4], memory, words[w + 5], words[w + 6]);
        ({ minHigh, maxHigh } = this);
      }
    }
    store();
  }

  /** Takes one field's bytes, `b[s, e)`, unquoted. */
  add(b: Uint8Array, s: number, e: number): void {
    const kind = parseNumber(b, s, e, parsed);
    if (kind !== NumberKind.None) {
      this.number(kind, parsed.value, parsed.negative, b);
      if (this.unsignedPass) this.passUnsigned(b, s, e, kind);
      keyOf(b, s, e);
      this.extremes(keyHigh, keyLow, b, s, e);
      this.distinct.add(hashNumber(parsed.value));
      return;
    }
    const na = naIndex(b, s, e);
    if (na >= 0) {
      this.addNull(na);
      return;
    }
    if (this.unsignedPass) this.passUnsigned(b, s, e, kind);
    const bool = booleanOf(b, s, e);
    if (bool === 1) this.trues++;
    else if (bool === 0) this.falses++;
    this.notNumber(bool < 0);
    keyOf(b, s, e);
    this.extremes(keyHigh, keyLow, b, s, e);
    this.distinct.add(hashBytes(b, s, e));
  }

  /** A missing value: NA_VALUES[index]. */
  addNull(index: number): void {
    this.nulls++;
    this.nullWords |= 1 << index;
    if (this.unsignedPass && this.unsignedPass.error === 'none') {
      this.unsignedPass.nulls = true;
    }
  }

  private number(
    kind: NumberKind,
    value: number,
    negative: boolean,
    b: Uint8Array
  ): void {
    this.values++;
    if (kind !== NumberKind.Int && this.intError === IntError.None) {
      if (kind === NumberKind.BigInt) {
        this.intError = IntError.Overflow;
        // uint64 reads the column again from its start: what it saw so far.
        this.unsignedPass = {
          error: 'none',
          signed: this.minusSeen,
          unsigned: false,
          nulls: this.nulls > 0
        };
      } else {
        this.intError = IntError.Invalid;
      }
    }
    if (negative && this.intError === IntError.None) this.minusSeen = true;
    this.boolFailed = true;
    if (kind === NumberKind.BigInt && !Number.isFinite(value)) {
      // Digits beyond a double's range: no float either.
      this.floatFailed = true;
    }
    if (
      kind !== NumberKind.Float &&
      (value > EXACT_INTEGER || value < -EXACT_INTEGER)
    ) {
      this.addBigInteger(bigIntegerOf(b, parsed));
    }
    const n = ++this.numbers;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    const delta = value - this.mean;
    this.mean += delta / n;
    this.m2 += delta * (value - this.mean);
  }

  /** A value that is no number (nor missing): a boolean word, or text. */
  private notNumber(notBoolean: boolean): void {
    this.values++;
    if (this.intError === IntError.None) this.intError = IntError.Invalid;
    this.floatFailed = true;
    if (notBoolean || this.numbers > 0) this.boolFailed = true;
  }

  private addBigInteger(value: bigint): void {
    if (this.bigMin === undefined || value < this.bigMin) this.bigMin = value;
    if (this.bigMax === undefined || value > this.bigMax) this.bigMax = value;
  }

  /** After an int64 overflow, `_try_uint64`'s view of each next value. */
  private passUnsigned(
    b: Uint8Array,
    s: number,
    e: number,
    kind: NumberKind
  ): void {
    const pass = this.unsignedPass!;
    if (pass.error !== 'none') return;
    const verdict = unsignedKind(b, s, e, kind, parsed);
    if (verdict === 'signed') pass.signed = true;
    else if (verdict === 'overflow' || verdict === 'invalid') {
      pass.error = verdict;
    } else if (kind === NumberKind.BigInt) pass.unsigned = true;
  }

  private extremes(
    high: number,
    low: number,
    b: Uint8Array,
    s: number,
    e: number
  ): void {
    const min = this.textMin;
    if (
      min === undefined ||
      compareKeyed(high, low, b, s, e, this.minHigh, this.minLow, min) < 0
    ) {
      this.textMin = Buffer.from(b.subarray(s, e));
      this.minHigh = high;
      this.minLow = low;
    }
    const max = this.textMax;
    if (
      max === undefined ||
      compareKeyed(high, low, b, s, e, this.maxHigh, this.maxLow, max) > 0
    ) {
      this.textMax = Buffer.from(b.subarray(s, e));
      this.maxHigh = high;
      this.maxLow = low;
    }
  }

  /**
   * pandas' verdict (`TextReader._convert_tokens`): int64 unless a value
   * is not an integer; on int64 overflow, uint64, unless a value is
   * negative or beyond uint64 (then text) or not an integer (on to
   * float64) — and a column mixing values beyond int64 with missing or
   * negative ones stays text with its missing-value strings as written;
   * then float64, then bool, then text. int64 with missing values is
   * float64 (and bool with them object, which holds booleans: BOOLEAN).
   */
  type(): ColumnType {
    const typed = (type: CsvColumnType): ColumnType => ({
      type,
      naFiltered: true
    });
    if (this.values === 0) return typed('DOUBLE');
    if (this.intError === IntError.None) {
      return typed(this.nulls > 0 ? 'DOUBLE' : 'BIGINT');
    }
    const pass = this.unsignedPass;
    if (pass && pass.error === 'overflow') return typed('VARCHAR');
    if (pass && pass.error === 'none') {
      if (pass.unsigned && (pass.signed || pass.nulls)) {
        return { type: 'VARCHAR', naFiltered: false };
      }
      return typed(pass.signed ? 'VARCHAR' : 'UBIGINT');
    }
    if (!this.floatFailed) return typed('DOUBLE');
    if (!this.boolFailed) return typed('BOOLEAN');
    return typed('VARCHAR');
  }

  /** Mean and sample standard deviation of the numbers. */
  moments(): { mean: number | null; std: number | null } {
    return {
      mean: this.numbers > 0 ? this.mean : null,
      std: this.numbers > 1 ? Math.sqrt(this.m2 / (this.numbers - 1)) : null
    };
  }

  /**
   * Exact integer extremes: numbers, or strings beyond 2^53 (an extreme
   * out there is one of the values kept exactly as they came).
   */
  integerExtremes(): { min: number | string; max: number | string } {
    return {
      min:
        this.min < -EXACT_INTEGER && this.bigMin !== undefined
          ? String(this.bigMin)
          : this.min,
      max:
        this.max > EXACT_INTEGER && this.bigMax !== undefined
          ? String(this.bigMax)
          : this.max
    };
  }

  /**
   * Text extremes as strings. With `withNullWords`, the missing-value
   * strings that occurred count as text (the column that keeps them).
   */
  textExtremes(withNullWords: boolean): {
    min: string | null;
    max: string | null;
  } {
    const candidates = [this.textMin, this.textMax].filter(
      (bytes): bytes is Buffer => bytes !== undefined
    );
    if (withNullWords) {
      for (const word of this.nullWordsSeen()) {
        candidates.push(Buffer.from(word));
      }
    }
    if (candidates.length === 0) return { min: null, max: null };
    candidates.sort(Buffer.compare);
    return {
      min: candidates[0].toString('utf8'),
      max: candidates[candidates.length - 1].toString('utf8')
    };
  }

  /** The missing-value strings that occurred, for the column that keeps them. */
  nullWordsSeen(): string[] {
    return NA_VALUES.filter((_, k) => this.nullWords & (1 << k));
  }
}

/** `keyOf`'s answer: the first eight bytes as two big-endian words. */
let keyHigh = 0;
let keyLow = 0;

/** The first eight bytes of `b[s, e)` (zeros past its end), as csv-tokens.wat. */
function keyOf(b: Uint8Array, s: number, e: number): void {
  let high = 0;
  let low = 0;
  for (let i = 0; i < 4; i++) {
    high = (high << 8) | (s + i < e ? b[s + i] : 0);
    low = (low << 8) | (s + 4 + i < e ? b[s + 4 + i] : 0);
  }
  keyHigh = high >>> 0;
  keyLow = low >>> 0;
}

/** `b[s, e)` (first eight bytes `high`, `low`) against an extreme: by key first. */
function compareKeyed(
  high: number,
  low: number,
  b: Uint8Array,
  s: number,
  e: number,
  extremeHigh: number,
  extremeLow: number,
  extreme: Buffer
): number {
  if (high !== extremeHigh) return high - extremeHigh;
  if (low !== extremeLow) return low - extremeLow;
  return compareBytes(b, s, e, extreme);
}

/** memcmp order, as DuckDB compares VARCHARs (= Unicode code point order). */
function compareBytes(b: Uint8Array, s: number, e: number, t: Buffer): number {
  const length = e - s;
  const n = length < t.length ? length : t.length;
  for (let k = 0; k < n; k++) {
    const d = b[s + k] - t[k];
    if (d !== 0) return d;
  }
  return length - t.length;
}
