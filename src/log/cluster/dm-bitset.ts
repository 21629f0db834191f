/**
 * libdevmapper's `dm_bitset_t` as cmirrord uses it (reference
 * userspace-and-cluster-logs.md §4.2): word 0 holds the bit count, then
 * `count / 32 + 1` words of bits, bit `b` at bit `b % 32` of word
 * `b / 32 + 1`. The simulator's hosts are little-endian, so the words'
 * bytes are also the on-disk clean bitmap's bytes (bit `b` at bit `b % 8`
 * of byte `b / 8`) and a checkpoint's raw words.
 */
import { assert } from '../../assert.js';

/** Population count of a 32-bit word. */
function hweight32(word: number): number {
  let value = word - ((word >>> 1) & 0x5555_5555);
  value = (value & 0x3333_3333) + ((value >>> 2) & 0x3333_3333);
  value = (value + (value >>> 4)) & 0x0f0f_0f0f;
  return Math.imul(value, 0x0101_0101) >>> 24;
}

/** One `dm_bitset_t` (see the file comment). */
export class DmBitset {
  /** The bit count (`*bs`). */
  readonly bitCount: number;
  /** The bit words after the count word, `bitCount / 32 + 1` of them. */
  private readonly words: Uint32Array;

  /** `dm_bitset_create(NULL, bitCount)`: all bits clear. */
  constructor(bitCount: number) {
    if (!Number.isSafeInteger(bitCount) || bitCount < 0 || bitCount > 0xffff_ffff) {
      throw new RangeError(`Bitset size ${bitCount} bits is not a u32`);
    }
    this.bitCount = bitCount;
    this.words = new Uint32Array(Math.floor(bitCount / 32) + 1);
  }

  /** Bytes of the bit words: `(bitCount / 32 + 1) * 4` (push_state's `bitset_size`). */
  get byteLength(): number {
    return this.words.byteLength;
  }

  /** `log_test_bit`: exactly 0 or 1 (498747d79: never the power of two `dm_bit` gives). */
  test(bit: number): 0 | 1 {
    this.check(bit);
    return ((this.words[bit >>> 5]! >>> (bit & 31)) & 1) as 0 | 1;
  }

  /** `dm_bit_set`. */
  set(bit: number): void {
    this.check(bit);
    this.words[bit >>> 5] = this.words[bit >>> 5]! | (1 << (bit & 31));
  }

  /** `dm_bit_clear`. */
  clear(bit: number): void {
    this.check(bit);
    this.words[bit >>> 5] = this.words[bit >>> 5]! & ~(1 << (bit & 31));
  }

  /** `dm_bit_set_all`: every word, the bits past the count included. */
  setAll(): void {
    this.words.fill(0xffff_ffff);
  }

  /** `dm_bit_copy(this, source)`: the words of a bitset of the same size. */
  copyFrom(source: DmBitset): void {
    assert(source.words.length === this.words.length, 'dm_bit_copy between bitsets of two sizes');
    this.words.set(source.words);
  }

  /** `count_bits32`: the set bits of every word, those past the count included. */
  countBits32(): number {
    let count = 0;
    for (const word of this.words) count += hweight32(word);
    return count;
  }

  /**
   * cmirrord's `find_next_zero_bit`: the first clear bit at or after
   * `start`; -1 if it walks past the count on set bits. A clear bit past
   * the count is returned as it is (callers compare with the region count).
   */
  findNextZero(start: number): number {
    let bit = start;
    while (bit < this.words.length * 32 && this.test(bit) === 1) {
      if (bit >= this.bitCount) return -1;
      bit++;
    }
    return bit;
  }

  /** A copy of the bit words' bytes (push_state). */
  toBytes(): Uint8Array {
    return new Uint8Array(this.words.buffer.slice(0));
  }

  /** The first `length` bytes of the bit words as a view (read_log and write_log copy through it). */
  bytes(length = this.words.byteLength): Uint8Array {
    assert(length <= this.words.byteLength, 'a bitset byte range past its words');
    return new Uint8Array(this.words.buffer, 0, length);
  }

  private check(bit: number): void {
    assert(
      Number.isInteger(bit) && bit >= 0 && bit < this.words.length * 32,
      `bit ${bit} is past a ${this.bitCount}-bit dm_bitset`,
    );
  }
}
