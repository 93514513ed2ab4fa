import { CSV_TOKENS_WASM } from './csv-tokens-wasm';

/** Node's global, as far as used here (@types/node 20 does not declare it). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: object };
};

interface WasmGlobal {
  value: number;
}

interface CsvTokensExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  bounds(length: number, out: number): number;
  classify(count: number, ends: number, width: number, stride: number): number;
  state: WasmGlobal;
  delimiter: WasmGlobal;
  header: WasmGlobal;
  ragged: WasmGlobal;
  fields: WasmGlobal;
  recordStarts: WasmGlobal;
  recordEnds: WasmGlobal;
  powers: WasmGlobal;
  special: WasmGlobal;
}

let tokensModule: object | undefined;

/** What csv-tokens.wat made of a field. */
export const enum Kind {
  /** Up to 15 digits, maybe signed: `values` has it. */
  Integer,
  /** Up to 15 digits and a point: `values` has it as pandas reads it. */
  Decimal,
  /** No number, missing value or word pandas reads specially. */
  Text,
  Empty,
  /** Anything else, for pandas-values.ts to read. */
  Other,
  /** A quoted field with quotes inside (`unquoted` gives its content). */
  Quoted
}

/** Takes a batch of records, one column at a time. */
export interface FieldSink {
  /** The column's fields of rows [0, rows): entries `tokens.first(column)` on. */
  take(tokens: CsvTokens, column: number, rows: number): void;
}

/** First bytes of the words pandas reads specially (missing values, booleans, infinities). */
const SPECIAL_FIRST_BYTES = '#-+1<NnIiTtFf';
/** Input bytes tokenized at once (more while a record is longer). */
const WINDOW_BYTES = 64 * 1024;
const PAGE_BYTES = 64 * 1024;
const QUOTE = 0x22;
const LINE_END = Buffer.from('\n');

/**
 * A CSV's records in batches, as csv-tokens.wat reads them: for each
 * field of a batch (entry `first(column) + row`: a column's fields side by
 * side) its kind, value, hash,
 * first eight bytes (two big-endian words) and content's start and end
 * in `memory`; for each record its bytes' start and end. Bytes come in
 * any chunks; a record split between chunks is read once whole.
 */
export class CsvTokens {
  private readonly exports: CsvTokensExports;
  memory!: Buffer;
  /**
   * The fields, 32 bytes each (csv-tokens.wat): of entry k, the value is
   * `values[4k]`, the hash `words[8k + 2]`, the key words `words[8k + 3]`
   * and `words[8k + 4]`, the content `words[8k + 5]` to `words[8k + 6]`,
   * the kind `bytes[32k + 28]`.
   */
  values!: Float64Array;
  words!: Uint32Array;
  bytes!: Uint8Array;
  recordStarts!: Uint32Array;
  recordEnds!: Uint32Array;
  /** The length of what `unquoted` returned. */
  unquotedLength = 0;
  private endsAt = 0;
  private ends!: Int32Array;
  private window = WINDOW_BYTES;
  /** Entries per column: as many records as the window can hold. */
  private stride = 0;
  /** memory[0, carry): the start of a record not yet complete. */
  private carry = 0;
  private scratch = Buffer.alloc(256);

  /** `width`: the records' fields. */
  constructor(
    delimiter: string,
    private readonly width: number
  ) {
    tokensModule ??= new WebAssembly.Module(
      Buffer.from(CSV_TOKENS_WASM, 'base64')
    );
    this.exports = new WebAssembly.Instance(tokensModule)
      .exports as unknown as CsvTokensExports;
    this.exports.delimiter.value = delimiter.charCodeAt(0);
    this.fitMemory();
  }

  /** Takes the next bytes; `records(rows)` for each batch of whole records. */
  push(chunk: Uint8Array, records: (rows: number) => void): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.carry >= this.window) {
        // One record is longer than the window: widen it.
        this.window *= 2;
        this.fitMemory();
      }
      const take = Math.min(chunk.length - offset, this.window - this.carry);
      this.memory.set(chunk.subarray(offset, offset + take), this.carry);
      offset += take;
      const length = this.carry + take;
      const consumed = this.read(length, records);
      this.memory.copyWithin(0, consumed, length);
      this.carry = length - consumed;
    }
  }

  /** What comes next has no header (records kept and read again). */
  headerless(): void {
    this.exports.header.value = 0;
  }

  /** The end of the input: a last record without a line break is one. */
  end(records: (rows: number) => void): void {
    if (this.carry > 0) this.push(LINE_END, records);
    this.carry = 0;
  }

  /** The entry of a column's field in the first row of a batch. */
  first(column: number): number {
    return column * this.stride;
  }

  /** A Quoted field's content (in a scratch buffer; `unquotedLength` long). */
  unquoted(s: number, e: number): Buffer {
    const memory = this.memory;
    if (this.scratch.length < e - s) this.scratch = Buffer.alloc(2 * (e - s));
    const out = this.scratch;
    let n = 0;
    let quoted = true;
    for (let i = s + 1; i < e;) {
      const c = memory[i++];
      if (quoted && c === QUOTE) {
        if (i < e && memory[i] === QUOTE) {
          out[n++] = QUOTE;
          i++;
        } else {
          // `"a"b` is `ab`: after the closing quote, all is data.
          quoted = false;
        }
        continue;
      }
      out[n++] = c;
    }
    this.unquotedLength = n;
    return out;
  }

  /** Reads the whole records in memory[0, length); returns where the rest starts. */
  private read(length: number, records: (rows: number) => void): number {
    const { exports, ends } = this;
    exports.state.value = 0;
    let count = exports.bounds(length, this.endsAt);
    while (count > 0 && ends[count - 1] >= 0) count--;
    if (count === 0) return 0;
    const rows = exports.classify(count, this.endsAt, this.width, this.stride);
    if (exports.ragged.value) {
      // The validator refuses the file at this record.
      throw new Error('A record has another number of fields than the header');
    }
    if (rows > 0) records(rows);
    return (ends[count - 1] & 0x7fffffff) + 1;
  }

  /**
   * Memory for the window (and a 16-byte overrun), then the tokenizer's
   * entries, one per window byte (a field or a record may be one byte), its powers of ten and its table of special first bytes.
   */
  private fitMemory(): void {
    const w = this.window;
    this.stride = Math.floor(w / this.width);
    const at = (offset: number) => Math.ceil(offset / 8) * 8;
    const ends = at(w + 64);
    const fields = ends + 4 * w;
    const recordStarts = fields + 32 * w;
    const recordEnds = recordStarts + 4 * w;
    const powers = recordEnds + 4 * w;
    const special = powers + 8 * 23;
    const needed = special + 256;
    const { exports } = this;
    const memory = exports.memory;
    const pages =
      Math.ceil(needed / PAGE_BYTES) - memory.buffer.byteLength / PAGE_BYTES;
    if (pages > 0) memory.grow(pages);
    const buffer = memory.buffer;
    this.memory = Buffer.from(buffer);
    this.endsAt = ends;
    this.ends = new Int32Array(buffer, ends, w);
    this.values = new Float64Array(buffer, fields, 4 * w);
    this.words = new Uint32Array(buffer, fields, 8 * w);
    this.bytes = new Uint8Array(buffer, fields, 32 * w);
    this.recordStarts = new Uint32Array(buffer, recordStarts, w);
    this.recordEnds = new Uint32Array(buffer, recordEnds, w);
    new Float64Array(buffer, powers, 23).set(
      Array.from({ length: 23 }, (_, k) => Number(`1e${k}`))
    );
    const table = new Uint8Array(buffer, special, 256).fill(0);
    for (const c of Buffer.from(SPECIAL_FIRST_BYTES)) table[c] = 1;
    exports.fields.value = fields;
    exports.recordStarts.value = recordStarts;
    exports.recordEnds.value = recordEnds;
    exports.powers.value = powers;
    exports.special.value = special;
  }
}
