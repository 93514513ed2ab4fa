import { isUtf8 } from 'node:buffer';

/**
 * Streaming UTF-8 check. Node's native `isUtf8` does the bulk of each chunk
 * at memory speed; only a character split across two chunks (≤ 3 bytes
 * carried over) and the chunk holding an error are looked at in JS.
 */
export class Utf8Checker {
  private carry: Buffer = Buffer.alloc(0);
  private offset = 0;

  /** The file offset of the first invalid byte in `chunk`, or -1. */
  check(chunk: Buffer): number {
    const start = this.offset;
    this.offset += chunk.length;
    let body = chunk;
    if (this.carry.length > 0) {
      const need = sequenceLength(this.carry[0]) - this.carry.length;
      const joined = Buffer.concat([this.carry, chunk.subarray(0, need)]);
      if (joined.length < this.carry.length + need) {
        this.carry = joined; // still incomplete: a tiny chunk
        return -1;
      }
      if (!isUtf8(joined)) {
        return start - this.carry.length + firstInvalidByte(joined);
      }
      this.carry = Buffer.alloc(0);
      body = chunk.subarray(need);
    }
    const cut = incompleteTailStart(body);
    const whole = body.subarray(0, cut);
    if (!isUtf8(whole)) {
      return start + (chunk.length - body.length) + firstInvalidByte(whole);
    }
    this.carry = Buffer.from(body.subarray(cut));
    return -1;
  }

  /** At the end of input: the offset of a truncated last character, or -1. */
  finish(): number {
    return this.carry.length > 0 ? this.offset - this.carry.length : -1;
  }
}

function sequenceLength(lead: number): number {
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  if (lead >= 0xe0) return lead <= 0xef ? 3 : 1;
  if (lead >= 0xc2) return 2;
  return 1;
}

/** Where a multi-byte character cut off by the chunk's end begins. */
function incompleteTailStart(bytes: Buffer): number {
  const end = bytes.length;
  for (let back = 1; back <= 3 && back <= end; back++) {
    const byte = bytes[end - back];
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte
    const length = sequenceLength(byte);
    return length > back ? end - back : end;
  }
  return end;
}

/** Slow path, only on a chunk known to be invalid: where the bad character starts. */
function firstInvalidByte(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length) {
    if (bytes[i] < 0x80) {
      i++;
      continue;
    }
    const length = sequenceLength(bytes[i]);
    if (
      length === 1 ||
      i + length > bytes.length ||
      !isUtf8(bytes.subarray(i, i + length))
    ) {
      return i;
    }
    i += length;
  }
  return bytes.length;
}
