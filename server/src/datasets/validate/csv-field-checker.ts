import { CSV_FIELDS_WASM } from './csv-fields-wasm';

/** csv-fields.wat's state inside a quoted field. */
const QUOTED = 2;

/** Input copied into the module's memory per call (its memory is 17 pages). */
const BUFFER_BYTES = 1024 * 1024;

/** Node's global, as far as used here (@types/node does not declare it). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: object };
};

interface WasmGlobal {
  value: number;
}

interface CsvFieldsExports {
  memory: { buffer: ArrayBuffer };
  scan(length: number): number;
  state: WasmGlobal;
  fields: WasmGlobal;
  content: WasmGlobal;
  delimiter: WasmGlobal;
  expected: WasmGlobal;
  records: WasmGlobal;
}

let shared: { exports: CsvFieldsExports; memory: Uint8Array } | undefined;

/** One instance for the process: scans are synchronous, so never interleaved. */
function csvFields(): NonNullable<typeof shared> {
  if (!shared) {
    const module = new WebAssembly.Module(
      Buffer.from(CSV_FIELDS_WASM, 'base64')
    );
    const exports = new WebAssembly.Instance(module)
      .exports as unknown as CsvFieldsExports;
    shared = { exports, memory: new Uint8Array(exports.memory.buffer) };
  }
  return shared;
}

/**
 * Checks that every record of a CSV has the header's number of fields, at
 * several hundred MB/s: the validator's row scan. The rules are exactly
 * CsvScanner's (quotes, `""`, CRLF, blank lines, a quote inside an
 * unquoted field being data), in WebAssembly SIMD (csv-fields.wat); each
 * checker keeps its own state between chunks, split anywhere.
 */
export class CsvFieldChecker {
  /** Records seen (the header is the first). */
  records = 0;
  /** Set at the first record whose field count differs: that count. */
  mismatch: number | undefined;
  private state = 0;
  private fields = 1;
  private content = 0;

  constructor(
    private readonly delimiter: number,
    private readonly expected: number
  ) {}

  /** Returns false once a record with another field count is found. */
  scan(bytes: Uint8Array): boolean {
    if (this.mismatch !== undefined) return false;
    const { exports, memory } = csvFields();
    exports.delimiter.value = this.delimiter;
    exports.expected.value = this.expected;
    exports.state.value = this.state;
    exports.fields.value = this.fields;
    exports.content.value = this.content;
    let ok = true;
    for (let start = 0; ok && start < bytes.length; start += BUFFER_BYTES) {
      const slice = bytes.subarray(start, start + BUFFER_BYTES);
      memory.set(slice);
      ok = exports.scan(slice.length) === 1;
      this.records += exports.records.value;
    }
    this.state = exports.state.value;
    this.fields = exports.fields.value;
    this.content = exports.content.value;
    if (!ok) this.mismatch = this.fields;
    return ok;
  }

  /**
   * Ends the input: a last record without a trailing newline is counted
   * and checked. False if the input ends inside a quoted field.
   */
  finish(): boolean {
    if (this.state === QUOTED) return false;
    if (this.content && this.mismatch === undefined) {
      this.records++;
      if (this.fields !== this.expected) this.mismatch = this.fields;
    }
    return true;
  }
}
