/** 2^14 registers: a standard error of ≈ 0.8 %, 16 KB a column. */
const INDEX_BITS = 14;
const REGISTERS = 1 << INDEX_BITS;
const ALPHA = 0.7213 / (1 + 1.079 / REGISTERS);
const TWO_TO_32 = 2 ** 32;

/**
 * A HyperLogLog sketch of distinct values over 32-bit hashes, for columns
 * whose sample does not hold nearly all their values (ids, free text).
 */
export class HyperLogLog {
  /** Read-only but for `add` (and loops that inline it). */
  readonly registers = new Uint8Array(REGISTERS);

  /** `hash`: 32 well-mixed bits (see `mix32`). */
  add(hash: number): void {
    const index = hash >>> (32 - INDEX_BITS);
    const rank = Math.clz32((hash << INDEX_BITS) | (1 << (INDEX_BITS - 1))) + 1;
    if (rank > this.registers[index]) this.registers[index] = rank;
  }

  /** The estimate, with the small- and large-range corrections. */
  count(): number {
    let sum = 0;
    let zeros = 0;
    for (const register of this.registers) {
      sum += 2 ** -register;
      if (register === 0) zeros++;
    }
    const raw = (ALPHA * REGISTERS * REGISTERS) / sum;
    if (raw <= 2.5 * REGISTERS && zeros > 0) {
      return REGISTERS * Math.log(REGISTERS / zeros);
    }
    if (raw > TWO_TO_32 / 30) {
      return -TWO_TO_32 * Math.log(1 - raw / TWO_TO_32);
    }
    return raw;
  }
}

/** MurmurHash3's finalizer: every input bit moves every output bit. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const float = new Float64Array(1);
const words = new Uint32Array(float.buffer);

/** A number's hash: equal numbers (0 and -0 too) hash alike. */
export function hashNumber(value: number): number {
  float[0] = value === 0 ? 0 : value;
  return mix32(mix32(words[0]) ^ words[1]);
}

/**
 * Bytes' hash: FNV-1a over little-endian 32-bit words (zeros past the
 * end), then mixed with the length — as csv-tokens.wat hashes text.
 */
export function hashBytes(b: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5;
  for (let i = s; i < e; i += 4) {
    const word =
      b[i] |
      (i + 1 < e ? b[i + 1] << 8 : 0) |
      (i + 2 < e ? b[i + 2] << 16 : 0) |
      (i + 3 < e ? b[i + 3] << 24 : 0);
    h = Math.imul(h ^ word, 0x01000193);
  }
  return mix32(h ^ (e - s));
}
