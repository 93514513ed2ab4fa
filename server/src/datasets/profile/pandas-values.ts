/**
 * How pandas' `read_csv` (its C parser, default options) reads one field:
 * the missing-value strings, the boolean words and the number syntax, on
 * the field's bytes as they lie in a buffer (no string is made). Ported
 * from pandas 1.5 (Debian 12's, the notebook's and the trainer's):
 * `str_to_int64`, `str_to_uint64` and `precise_xstrtod` in its
 * tokenizer.c, the infinity words of `_try_double` in parsers.pyx.
 * pandas-parity.spec.ts holds them against the real `pd.read_csv`.
 */

/** `pandas._libs.parsers.STR_NA_VALUES` (pandas 1.5; 2.0 adds `None`). */
export const NA_VALUES = [
  '',
  '#N/A',
  '#N/A N/A',
  '#NA',
  '-1.#IND',
  '-1.#QNAN',
  '-NaN',
  '-nan',
  '1.#IND',
  '1.#QNAN',
  '<NA>',
  'N/A',
  'NA',
  'NULL',
  'NaN',
  'n/a',
  'nan',
  'null'
] as const;

const NA_BYTES = NA_VALUES.map(value => Buffer.from(value, 'latin1'));
const NA_LONGEST = Math.max(...NA_BYTES.map(bytes => bytes.length));
/** First bytes of the non-empty missing-value strings: a quick "no". */
const NA_FIRST = new Uint8Array(256);
for (const bytes of NA_BYTES) {
  if (bytes.length > 0) NA_FIRST[bytes[0]] = 1;
}

/** Which of `NA_VALUES` the field is, or -1. */
export function naIndex(b: Uint8Array, s: number, e: number): number {
  const length = e - s;
  if (length === 0) return 0;
  if (length > NA_LONGEST || NA_FIRST[b[s]] === 0) return -1;
  for (let k = 1; k < NA_BYTES.length; k++) {
    if (equalBytes(b, s, e, NA_BYTES[k])) return k;
  }
  return -1;
}

const TRUE_WORDS = ['True', 'TRUE', 'true'].map(w => Buffer.from(w));
const FALSE_WORDS = ['False', 'FALSE', 'false'].map(w => Buffer.from(w));

/** pandas' default `true_values`/`false_values`: 1, 0, or -1 for neither. */
export function booleanOf(b: Uint8Array, s: number, e: number): number {
  const length = e - s;
  if (length === 4) {
    for (const word of TRUE_WORDS) if (equalBytes(b, s, e, word)) return 1;
  } else if (length === 5) {
    for (const word of FALSE_WORDS) if (equalBytes(b, s, e, word)) return 0;
  }
  return -1;
}

/** What `parseNumber` found. */
export const enum NumberKind {
  /** Not a number to pandas. */
  None,
  /** An integer within int64 (digits only, with sign and spaces). */
  Int,
  /** Digits only, but outside int64: uint64, or text (see `bigIntegerOf`). */
  BigInt,
  /** A float: a fraction, an exponent, or an infinity word. */
  Float
}

/** `parseNumber`'s answer besides the kind, reused to make no garbage. */
export interface ParsedNumber {
  /** The value as pandas' float parser reads it (an Int's exact value). */
  value: number;
  /** The field starts with `-` after its leading spaces. */
  negative: boolean;
  /** Where the digits of an Int or BigInt are. */
  digitsStart: number;
  digitsEnd: number;
}

const POWERS_OF_TEN = Array.from({ length: 309 }, (_, k) => Number(`1e${k}`));
/** Digits pandas' float parser keeps; later ones only shift the exponent. */
const MAX_DIGITS = 17;
/** Up to this many digits an integer adds up exactly in a double. */
const EXACT_DIGITS = 15;
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
export const UINT64_MAX = 18446744073709551615n;

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/**
 * Reads a field as pandas' number parsers do: leading and trailing
 * spaces (ASCII whitespace), an optional sign, digits, an optional
 * fraction and exponent — and the words inf, +inf, -inf, Infinity,
 * +Infinity, -Infinity in any case and without spaces. The float value is
 * `precise_xstrtod`'s, digit for digit: 17 digits kept, leading zeros
 * among them, scaled by a table of powers of ten, beyond 1e308 refused.
 */
export function parseNumber(
  b: Uint8Array,
  s: number,
  e: number,
  out: ParsedNumber
): NumberKind {
  let i = s;
  while (i < e && isSpace(b[i])) i++;
  out.negative = false;
  if (i < e && (b[i] === 45 || b[i] === 43)) {
    out.negative = b[i] === 45;
    i++;
  }
  const digitsStart = i;
  let number = 0;
  let digits = 0;
  let exponent = 0;
  let d = 0;
  while (i < e && (d = b[i] - 48) >= 0 && d <= 9) {
    if (digits < MAX_DIGITS) {
      number = number * 10 + d;
      digits++;
    } else {
      exponent++;
    }
    i++;
  }
  const integerDigits = i - digitsStart;
  let integer = integerDigits > 0;
  if (i < e && b[i] === 46) {
    integer = false;
    i++;
    let decimals = 0;
    while (digits < MAX_DIGITS && i < e && (d = b[i] - 48) >= 0 && d <= 9) {
      number = number * 10 + d;
      digits++;
      decimals++;
      i++;
    }
    while (i < e && (d = b[i] - 48) >= 0 && d <= 9) i++;
    exponent -= decimals;
  }
  if (digits === 0) return infinityWord(b, s, e, out);
  if (i < e && (b[i] | 0x20) === 101) {
    integer = false;
    let j = i + 1;
    let negativeExponent = false;
    if (j < e && (b[j] === 45 || b[j] === 43)) {
      negativeExponent = b[j] === 45;
      j++;
    }
    let n = 0;
    let exponentDigits = 0;
    while (
      exponentDigits < MAX_DIGITS &&
      j < e &&
      (d = b[j] - 48) >= 0 &&
      d <= 9
    ) {
      n = n * 10 + d;
      exponentDigits++;
      j++;
    }
    if (exponentDigits === 0) return infinityWord(b, s, e, out);
    exponent += negativeExponent ? -n : n;
    i = j;
  }
  while (i < e && isSpace(b[i])) i++;
  if (i !== e) return infinityWord(b, s, e, out);
  out.digitsStart = digitsStart;
  out.digitsEnd = digitsStart + integerDigits;
  if (integer) {
    if (integerDigits <= EXACT_DIGITS) {
      // An integer has no -0.
      out.value = out.negative ? 0 - number : number;
      return NumberKind.Int;
    }
    const exact = bigIntegerOf(b, out);
    if (exact >= INT64_MIN && exact <= INT64_MAX) {
      out.value = Number(exact);
      return NumberKind.Int;
    }
    out.value = scaled(out.negative ? -number : number, exponent);
    return NumberKind.BigInt;
  }
  out.value = scaled(out.negative ? -number : number, exponent);
  return Number.isFinite(out.value) ? NumberKind.Float : NumberKind.None;
}

/** `precise_xstrtod`'s scaling; an infinite result means out of range. */
function scaled(number: number, exponent: number): number {
  if (exponent > 308) return Infinity;
  if (exponent > 0) return number * POWERS_OF_TEN[exponent];
  if (exponent < -308) {
    if (exponent < -616) return 0;
    return number / POWERS_OF_TEN[-308 - exponent] / POWERS_OF_TEN[308];
  }
  return number / POWERS_OF_TEN[-exponent];
}

const INFINITY_WORDS = ['inf', '+inf', 'infinity', '+infinity'];
const NEGATIVE_INFINITY_WORDS = ['-inf', '-infinity'];

function infinityWord(
  b: Uint8Array,
  s: number,
  e: number,
  out: ParsedNumber
): NumberKind {
  const length = e - s;
  if (length < 3 || length > 9) return NumberKind.None;
  const word = Buffer.from(b.buffer, b.byteOffset + s, length)
    .toString('latin1')
    .toLowerCase();
  if (INFINITY_WORDS.includes(word)) {
    out.value = Infinity;
    return NumberKind.Float;
  }
  if (NEGATIVE_INFINITY_WORDS.includes(word)) {
    out.value = -Infinity;
    return NumberKind.Float;
  }
  return NumberKind.None;
}

/** The exact integer of an Int or BigInt that `parseNumber` just read. */
export function bigIntegerOf(b: Uint8Array, parsed: ParsedNumber): bigint {
  const digits = BigInt(
    Buffer.from(
      b.buffer,
      b.byteOffset + parsed.digitsStart,
      parsed.digitsEnd - parsed.digitsStart
    ).toString('latin1')
  );
  return parsed.negative ? -digits : digits;
}

/**
 * `str_to_uint64`'s view of a field (pandas tries it once a value
 * overflows int64): 'signed' for anything starting with `-` (pandas looks
 * no further), 'uint' within uint64, 'overflow' beyond it, 'invalid'
 * for anything else.
 */
export function unsignedKind(
  b: Uint8Array,
  s: number,
  e: number,
  kind: NumberKind,
  parsed: ParsedNumber
): 'signed' | 'uint' | 'overflow' | 'invalid' {
  let i = s;
  while (i < e && isSpace(b[i])) i++;
  if (i < e && b[i] === 45) return 'signed';
  if (kind === NumberKind.Int) return 'uint';
  if (kind !== NumberKind.BigInt) return 'invalid';
  return bigIntegerOf(b, parsed) <= UINT64_MAX ? 'uint' : 'overflow';
}

function equalBytes(
  b: Uint8Array,
  s: number,
  e: number,
  word: Uint8Array
): boolean {
  if (e - s !== word.length) return false;
  for (let k = 0; k < word.length; k++) {
    if (b[s + k] !== word[k]) return false;
  }
  return true;
}
