/**
 * A quote-aware CSV record scanner over raw bytes.
 *
 * Hand-written rather than csv-parse because validation runs on every
 * upload at disk speed: csv-parse builds every field as a string,
 * while the validator only
 * needs to count fields per record. Measured on a 57 MB file on this
 * (busy, 2-core) machine: csv-parse ≈ 7 MB/s, this scanner ≈ 260 MB/s.
 * The rules follow RFC 4180 with the
 * leniency of pandas and DuckDB:
 * - a field starting with `"` is quoted; inside it `""` is a literal quote,
 *   and delimiters and line breaks are data;
 * - a `"` in the middle of an unquoted field, or after a closing quote, is
 *   data (`a"b`, `"a"b`);
 * - records end at `\n`; a `\r` before it (CRLF) is ignored;
 * - blank lines (nothing, or only `\r`) are not records.
 * The state survives chunk boundaries, so a quote, a CRLF or a record may be
 * split anywhere between two `scan` calls.
 */

const QUOTE = 0x22;
const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

const enum State {
  /** At the start of a field (after a delimiter or a record's start). */
  FieldStart,
  /** Inside an unquoted field, or after a quoted field's closing quote. */
  Unquoted,
  /** Inside a quoted field. */
  Quoted,
  /** Saw a `"` inside a quoted field: either `""` or the closing quote. */
  QuoteInQuoted
}

export interface RecordSink {
  /** One complete record and its field count. Return false to stop scanning. */
  (fields: number): boolean;
}

export class CsvScanner {
  private state = State.FieldStart;
  private fields = 1;
  /** True once the current record holds any byte other than `\r`. */
  private hasContent = false;

  constructor(private readonly delimiter: number) {}

  /**
   * Scans bytes; returns false if the sink asked to stop. Written for speed
   * (the pipeline needs hundreds of MB/s): tight inner loops for unquoted
   * runs, and the native `indexOf` to jump across quoted fields.
   */
  scan(bytes: Uint8Array, sink: RecordSink): boolean {
    const delimiter = this.delimiter;
    let state = this.state;
    let fields = this.fields;
    let hasContent = this.hasContent;
    const length = bytes.length;
    let i = 0;
    while (i < length) {
      if (state === State.Quoted) {
        const quote = bytes.indexOf(QUOTE, i);
        if (quote === -1) {
          i = length;
          break;
        }
        state = State.QuoteInQuoted;
        i = quote + 1;
        continue;
      }
      const byte = bytes[i++];
      if (byte === NEWLINE) {
        if (hasContent && !sink(fields)) {
          this.save(State.FieldStart, 1, false);
          return false;
        }
        state = State.FieldStart;
        fields = 1;
        hasContent = false;
        continue;
      }
      if (byte === CARRIAGE_RETURN) {
        if (state === State.QuoteInQuoted) state = State.Unquoted;
        continue;
      }
      hasContent = true;
      if (byte === delimiter) {
        fields++;
        state = State.FieldStart;
        continue;
      }
      if (byte === QUOTE) {
        if (state === State.FieldStart) {
          state = State.Quoted;
        } else if (state === State.QuoteInQuoted) {
          state = State.Quoted; // `""`: an escaped quote
        }
        continue;
      }
      // Plain data: run to the next byte that matters.
      state = State.Unquoted;
      while (i < length) {
        const next = bytes[i];
        if (next === delimiter) {
          fields++;
          state = State.FieldStart;
        } else if (
          next === NEWLINE ||
          next === QUOTE ||
          next === CARRIAGE_RETURN
        ) {
          break;
        } else if (state === State.FieldStart) {
          state = State.Unquoted;
        }
        i++;
      }
    }
    this.save(state, fields, hasContent);
    return true;
  }

  /**
   * Ends the input: emits a last record without a trailing newline.
   * Returns false if the input ends inside a quoted field.
   */
  finish(sink: RecordSink): boolean {
    if (this.state === State.Quoted) return false;
    if (this.hasContent) sink(this.fields);
    return true;
  }

  private save(state: State, fields: number, hasContent: boolean): void {
    this.state = state;
    this.fields = fields;
    this.hasContent = hasContent;
  }
}

/**
 * The fields of the first record in `text` (the header), unquoted, using
 * the same rules as `CsvScanner`; undefined if no complete record is there.
 */
export function firstRecordFields(
  text: string,
  delimiter: string,
  atEnd: boolean
): string[] | undefined {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  let afterQuote = false;
  let fieldStart = true;
  let content = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
          afterQuote = true;
        }
      } else {
        field += char;
      }
      continue;
    }
    if (char === '\n') {
      if (!content) {
        fieldStart = true;
        continue; // leading blank lines are not records
      }
      fields.push(field);
      return fields;
    }
    if (char === '\r') continue;
    content = true;
    if (char === delimiter) {
      fields.push(field);
      field = '';
      fieldStart = true;
      afterQuote = false;
      continue;
    }
    if (char === '"' && fieldStart && !afterQuote) {
      quoted = true;
      fieldStart = false;
      continue;
    }
    fieldStart = false;
    field += char;
  }
  if (atEnd && content && !quoted) {
    fields.push(field);
    return fields;
  }
  return undefined;
}
