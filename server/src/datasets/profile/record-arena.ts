/**
 * Records kept by slot (a reservoir sample's), their bytes packed in one
 * buffer: a record that replaces another is appended, and when the buffer
 * is full the live records are moved down over the dead ones (in place:
 * no second buffer lingers until a garbage collection). One copy per kept
 * record and no object each — a Buffer per record cost more (mostly in
 * the garbage collector) than reading the whole file.
 */
export class RecordArena {
  private bytes: Buffer;
  private used = 0;
  private live = 0;
  private readonly starts: Int32Array;
  private readonly lengths: Int32Array;

  constructor(slots: number, initialBytes = 1024 * 1024) {
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

  /**
   * Moves the live records down in the order they lie; a larger buffer
   * replaces this one only when they leave less than a fifth of it free.
   */
  private compact(needed: number): void {
    const slots = [...this.starts.keys()]
      .filter(slot => this.starts[slot] >= 0)
      .sort((a, b) => this.starts[a] - this.starts[b]);
    let target = this.bytes;
    if (ROOM * (this.live + needed) > this.bytes.length) {
      target = Buffer.allocUnsafe(Math.ceil(ROOM * (this.live + needed)));
    }
    let used = 0;
    for (const slot of slots) {
      const start = this.starts[slot];
      const length = this.lengths[slot];
      this.bytes.copy(target, used, start, start + length);
      this.starts[slot] = used;
      used += length;
    }
    this.bytes = target;
    this.used = used;
  }
}

const SHORT_RECORD_BYTES = 256;
/** Room kept beside the live records: compactions stay rare, memory small. */
const ROOM = 1.25;
