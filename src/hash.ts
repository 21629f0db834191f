/**
 * Small, stable, non-cryptographic hashes: the same input gives the same
 * hash on every machine. Used for trace hashes and crash-state ids.
 */

const TWO_TO_32 = 0x1_0000_0000;

/** FNV-1a over the UTF-16 code units of a string. */
export function hashString32(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  }
  return hash >>> 0;
}

/** A 64-bit running hash built from two 32-bit murmur-style lanes. */
export class Hash64 {
  private lane1 = 0x9e3779b9;
  private lane2 = 0x7f4a7c15;
  private wordCount = 0;

  /** Mixes a 32-bit word. */
  word(word: number): this {
    const value = word | 0;
    let lane1 = Math.imul(this.lane1 ^ value, 0x85ebca6b);
    lane1 = (lane1 << 13) | (lane1 >>> 19);
    this.lane1 = (Math.imul(lane1, 5) + 0xe6546b64) | 0;
    let lane2 = Math.imul(this.lane2 ^ value, 0xc2b2ae35);
    lane2 = (lane2 << 17) | (lane2 >>> 15);
    this.lane2 = (Math.imul(lane2, 3) + 0x27d4eb2f) | 0;
    this.wordCount++;
    return this;
  }

  /** Mixes a safe integer (up to 2^53) as two words. */
  integer(value: number): this {
    // For safe integers ≥ 0, `>>> 0` is the value mod 2^32 and the division's `>>> 0` its floor.
    return this.word(value >>> 0).word((value / TWO_TO_32) >>> 0);
  }

  string(text: string): this {
    return this.word(hashString32(text)).word(text.length);
  }

  bytes(data: Uint8Array): this {
    let index = 0;
    for (; index + 4 <= data.length; index += 4) {
      this.word(
        data[index]! |
          (data[index + 1]! << 8) |
          (data[index + 2]! << 16) |
          (data[index + 3]! << 24),
      );
    }
    for (; index < data.length; index++) this.word(data[index]!);
    return this.word(data.length);
  }

  /** The hash as 16 hex digits. */
  hex(): string {
    const final1 = fmix32(this.lane1 ^ this.wordCount);
    const final2 = fmix32(this.lane2 ^ final1);
    return hex8(final1) + hex8(final2);
  }
}

function fmix32(input: number): number {
  let hash = input | 0;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

function hex8(value: number): string {
  return (value >>> 0).toString(16).padStart(8, '0');
}
