/**
 * Records kept by slot (a reservoir sample's), their bytes packed in one
 * buffer: a record that replaces another is appended, and the buffer is
 * compacted when full. One copy per kept record and no object each — a
 * Buffer per record cost more (mostly in the garbage collector) than
 * reading the whole file.
 */
const SHORT_RECORD_BYTES = 256;

export class RecordArena {
  private bytes: Buffer;
  private used = 0;
  private live = 0;
  private readonly starts: Int32Array;
  private readonly lengths: Int32Array;

  constructor(
    slots: number,
    private readonly initialBytes = 1024 * 1024
  ) {
    this.bytes = Buffer.allocUnsafe(initialBytes);
    this.starts = new Int32Array(slots).fill(-1);
    this.lengths = new Int32Array(slots);
  }

  /** Keeps `source[start, end)` as the record of `slot`. */
  set(slot: number, source: Buffer, start: number, end: number): void {
    const length = end - start;
    if (this.starts[slot] >= 0) this.live -= this.lengths[slot];
    this.starts[slot] = -1;
    if (this.used + length > this.bytes.length) this.compact(length);
    const bytes = this.bytes;
    if (length <= SHORT_RECORD_BYTES) {
      // A call into Buffer.copy costs more than a short record's bytes.
      for (let i = 0, at = this.used; i < length; i++) {
        bytes[at + i] = source[start + i];
      }
    } else {
      source.copy(bytes, this.used, start, end);
    }
    this.starts[slot] = this.used;
    this.lengths[slot] = length;
    this.used += length;
    this.live += length;
  }

  /** The records of slots [0, count), in slot order. */
  records(count: number): Buffer[] {
    const records: Buffer[] = [];
    for (let slot = 0; slot < count; slot++) {
      if (this.starts[slot] < 0) continue;
      const start = this.starts[slot];
      records.push(this.bytes.subarray(start, start + this.lengths[slot]));
    }
    return records;
  }

  /** Moves the live records to a buffer twice their size (at least). */
  private compact(needed: number): void {
    const size = Math.max(this.initialBytes, 2 * (this.live + needed));
    const bytes = Buffer.allocUnsafe(size);
    let used = 0;
    for (let slot = 0; slot < this.starts.length; slot++) {
      const start = this.starts[slot];
      if (start < 0) continue;
      const length = this.lengths[slot];
      this.bytes.copy(bytes, used, start, start + length);
      this.starts[slot] = used;
      used += length;
    }
    this.bytes = bytes;
    this.used = used;
  }
}
