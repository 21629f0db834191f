/**
 * Little-endian bitsets over bytes, as the kernel's `test_bit_le`,
 * `__set_bit_le`, `__clear_bit_le`, `find_next_zero_bit_le` and `memweight`
 * see them: bit `b` is bit `b & 7` of byte `b >> 3`, whatever the host's byte
 * order. This is the layout of the disk log's clean bitmap on disk
 * (reference dm-mirror.md §2.2), so one of these can wrap the log's I/O
 * buffer and *be* the on-disk image.
 *
 * Sizes are whole `unsigned long`s: {@link bitsetSizeBytes} rounds a bit
 * count up to {@link BITS_PER_LONG} (64) bits, as `create_log_context` does
 * on 64-bit hosts (§2.1).
 */
import { assert } from '../assert.js';

/** `BITS_PER_LONG` on the 64-bit hosts the simulator models. */
export const BITS_PER_LONG = 64;

const BYTES_PER_LONG = BITS_PER_LONG / 8;
const ALL_ONES_WORD = 0xffff_ffff;

/**
 * The byte that holds `bit`. Bit counts reach 2^32 (a 2^32 − 1 region log
 * rounded up to whole longs), past what 32-bit operators such as `>>> 3`
 * or `& ~7` handle, so ranges and limits use this instead; single-bit
 * accesses, whose index is below 2^32, keep the cheaper shift.
 */
function byteOf(bit: number): number {
  return Math.floor(bit / 8);
}

/** Bytes of a bitset holding `bitCount` bits: `round_up(bitCount, BITS_PER_LONG) / 8` (§2.1). */
export function bitsetSizeBytes(bitCount: number): number {
  if (!Number.isSafeInteger(bitCount) || bitCount < 0) {
    throw new RangeError(`Bitset size ${bitCount} bits is not an integer ≥ 0`);
  }
  return Math.ceil(bitCount / BITS_PER_LONG) * BYTES_PER_LONG;
}

/** Population count of a 32-bit word (the classic SWAR reduction). */
function popcount32(word: number): number {
  let value = word - ((word >>> 1) & 0x5555_5555);
  value = (value & 0x3333_3333) + ((value >>> 2) & 0x3333_3333);
  value = (value + (value >>> 4)) & 0x0f0f_0f0f;
  return Math.imul(value, 0x0101_0101) >>> 24;
}

/** Index of the lowest zero bit of a byte that is not 0xFF. */
function lowestZeroBit(byte: number): number {
  // `~byte & (byte + 1)` isolates the lowest zero bit as a power of two.
  return 31 - Math.clz32(~byte & (byte + 1));
}

/** Index of the lowest set bit of a non-zero byte. */
function lowestOneBit(byte: number): number {
  return 31 - Math.clz32(byte & -byte);
}

/**
 * A little-endian bitset over a byte array it does not own exclusively:
 * the disk log's clean bitset is a window into its I/O buffer. Bit indexes
 * are checked by the callers (the log checks regions against its count);
 * here they are only asserted to fit the memory, at no cost on the hot path
 * beyond one comparison.
 */
export class LeBitset {
  /** The memory: its bytes are the bitset, bit `b` at bit `b & 7` of byte `b >> 3`. */
  readonly bytes: Uint8Array;
  /** A 32-bit view of the same memory for whole-word scans, when it is 4-byte aligned. */
  private readonly words: Uint32Array | null;

  /** Wraps `bytes` (a whole number of `unsigned long`s), sharing its memory. */
  constructor(bytes: Uint8Array) {
    if (bytes.length % BYTES_PER_LONG !== 0) {
      throw new RangeError(
        `Bitset memory of ${bytes.length} bytes is not a whole number of ${BYTES_PER_LONG}-byte longs`,
      );
    }
    this.bytes = bytes;
    // Word scans only ask "all ones?" or "how many ones?", so the host's byte order does not matter.
    this.words =
      // Stryker disable next-line ConditionalExpression,ArithmeticOperator: equivalent — without the word view every scan takes the byte loops, which give the same answers
      bytes.byteOffset % 4 === 0
        ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)
        : null;
  }

  /** A zeroed bitset for `bitCount` bits, rounded up to whole longs (`vzalloc(bitset_size)`). */
  static allocate(bitCount: number): LeBitset {
    return new LeBitset(new Uint8Array(bitsetSizeBytes(bitCount)));
  }

  /** Bits of memory (a multiple of 64); the meaningful ones are the caller's region count. */
  get sizeBits(): number {
    return this.bytes.length * 8;
  }

  /** `test_bit_le`: 1 if bit `bit` is set, else 0. */
  test(bit: number): 0 | 1 {
    // `bit >>> 0 === bit` keeps an index of 2^32 or more from wrapping into the memory.
    assert(bit >>> 3 < this.bytes.length && bit >>> 0 === bit, 'bitset index past its memory');
    return ((this.bytes[bit >>> 3]! >>> (bit & 7)) & 1) as 0 | 1;
  }

  /** `__set_bit_le`. */
  set(bit: number): void {
    const index = bit >>> 3;
    assert(index < this.bytes.length && bit >>> 0 === bit, 'bitset index past its memory');
    this.bytes[index] = this.bytes[index]! | (1 << (bit & 7));
  }

  /** `__clear_bit_le`. */
  clear(bit: number): void {
    const index = bit >>> 3;
    assert(index < this.bytes.length && bit >>> 0 === bit, 'bitset index past its memory');
    this.bytes[index] = this.bytes[index]! & ~(1 << (bit & 7));
  }

  /** Sets (`value` 1) or clears (`value` 0) bits `[fromBit, toBit)`, whole bytes at a time inside. */
  fillRange(fromBit: number, toBit: number, value: 0 | 1): void {
    assert(
      fromBit >= 0 && fromBit <= toBit && toBit <= this.sizeBits,
      `bit range [${fromBit}, ${toBit}) is outside a ${this.sizeBits}-bit bitset`,
    );
    let bit = fromBit;
    // Stryker disable next-line ConditionalExpression: equivalent — setting bit by bit up to toBit leaves no whole bytes for the fill below: same bits
    while (bit < toBit && (bit & 7) !== 0) {
      if (value === 1) this.set(bit);
      else this.clear(bit);
      bit++;
    }
    // Whole bytes up to the last byte boundary at or below toBit. No 32-bit masks such as
    // `& ~7` or `>>> 3` here: a range may end at 2^31 bits and beyond (a 1 PiB mirror).
    const wholeBytesEnd = Math.max(bit, toBit - (toBit % 8));
    this.bytes.fill(value === 1 ? 0xff : 0, byteOf(bit), byteOf(wholeBytesEnd));
    for (bit = wholeBytesEnd; bit < toBit; bit++) {
      if (value === 1) this.set(bit);
      else this.clear(bit);
    }
  }

  /** `memset` of the whole memory to all ones (1) or all zeros (0). */
  fill(value: 0 | 1): void {
    this.bytes.fill(value === 1 ? 0xff : 0);
  }

  /** `memcpy` of another bitset of the same size into this one. */
  copyFrom(source: LeBitset): void {
    assert(
      source.bytes.length === this.bytes.length,
      `bitset copy of ${source.bytes.length} bytes into ${this.bytes.length} bytes`,
    );
    this.bytes.set(source.bytes);
  }

  /**
   * `find_next_zero_bit_le(addr, sizeBits, fromBit)`: the first clear bit at
   * or after `fromBit` and below `sizeBits`, or `sizeBits` if there is none.
   * Runs of set bits are skipped a 32-bit word at a time.
   */
  findNextZero(sizeBits: number, fromBit: number): number {
    assert(sizeBits <= this.sizeBits, 'bitset search limit past its memory');
    // Stryker disable next-line EqualityOperator: equivalent — when fromBit === sizeBits the scan below can only return sizeBits
    if (fromBit >= sizeBits) return sizeBits;
    const bytes = this.bytes;
    const endByte = Math.ceil(sizeBits / 8);
    let index = byteOf(fromBit);
    // Bits below `fromBit` in its byte count as set, so they are never found.
    const first = bytes[index]! | ((1 << (fromBit & 7)) - 1);
    if (first !== 0xff) return Math.min(index * 8 + lowestZeroBit(first), sizeBits);
    index++;
    const words = this.words;
    // Stryker disable next-line BlockStatement: equivalent — the word skip only speeds the scan; the byte loop below checks the same bytes
    if (words !== null) {
      // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: equivalent — the word skip below is sound from any word, so this alignment loop only speeds the scan
      while (index < endByte && (index & 3) !== 0) {
        if (bytes[index] !== 0xff)
          return Math.min(index * 8 + lowestZeroBit(bytes[index]!), sizeBits);
        index++;
      }
      let word = index >>> 2;
      const endWord = endByte >>> 2;
      // Stryker disable next-line ConditionalExpression,EqualityOperator,UpdateOperator: equivalent — skipping fewer all-ones words, or all-ones words past the end, leaves the answer to the byte loop
      while (word < endWord && words[word] === ALL_ONES_WORD) word++;
      index = Math.max(index, word << 2);
    }
    while (index < endByte) {
      if (bytes[index] !== 0xff)
        return Math.min(index * 8 + lowestZeroBit(bytes[index]!), sizeBits);
      index++;
    }
    return sizeBits;
  }

  /**
   * `find_next_bit_le(addr, sizeBits, fromBit)`: the first set bit at or
   * after `fromBit` and below `sizeBits`, or `sizeBits` if there is none.
   * Runs of clear bits are skipped a 32-bit word at a time.
   */
  findNextOne(sizeBits: number, fromBit: number): number {
    assert(sizeBits <= this.sizeBits, 'bitset search limit past its memory');
    if (fromBit >= sizeBits) return sizeBits;
    const bytes = this.bytes;
    const endByte = Math.ceil(sizeBits / 8);
    let index = byteOf(fromBit);
    // Bits below `fromBit` in its byte count as clear, so they are never found.
    const first = bytes[index]! & ~((1 << (fromBit & 7)) - 1) & 0xff;
    if (first !== 0) return Math.min(index * 8 + lowestOneBit(first), sizeBits);
    index++;
    const words = this.words;
    if (words !== null) {
      while (index < endByte && (index & 3) !== 0) {
        if (bytes[index] !== 0) return Math.min(index * 8 + lowestOneBit(bytes[index]!), sizeBits);
        index++;
      }
      let word = index >>> 2;
      const endWord = endByte >>> 2;
      while (word < endWord && words[word] === 0) word++;
      index = Math.max(index, word << 2);
    }
    while (index < endByte) {
      if (bytes[index] !== 0) return Math.min(index * 8 + lowestOneBit(bytes[index]!), sizeBits);
      index++;
    }
    return sizeBits;
  }

  /** `memweight` of the whole memory: every set bit, including any past the caller's count. */
  popcount(): number {
    const words = this.words;
    let total = 0;
    // Stryker disable next-line BlockStatement: equivalent — the byte loop below counts the same bits
    if (words !== null) {
      // Stryker disable next-line EqualityOperator: equivalent — the word past the end reads as undefined, whose popcount32 is 0
      for (let index = 0; index < words.length; index++) total += popcount32(words[index]!);
      return total;
    }
    // Stryker disable next-line EqualityOperator: equivalent — the byte past the end reads as undefined, whose popcount32 is 0
    for (let index = 0; index < this.bytes.length; index++) total += popcount32(this.bytes[index]!);
    return total;
  }

  /** Set bits in `[0, toBit)`: the meaningful part of a bitset whose tail may hold ones. */
  countOnesBelow(toBit: number): number {
    assert(toBit >= 0 && toBit <= this.sizeBits, `count limit ${toBit} is outside the bitset`);
    const wholeBytes = byteOf(toBit);
    let total = 0;
    const words = this.words;
    let index = 0;
    // Stryker disable next-line BlockStatement: equivalent — the byte loop below counts the same bytes
    if (words !== null) {
      const wholeWords = wholeBytes >>> 2;
      for (let word = 0; word < wholeWords; word++) total += popcount32(words[word]!);
      index = wholeWords << 2;
    }
    for (; index < wholeBytes; index++) total += popcount32(this.bytes[index]!);
    const rest = toBit & 7;
    // Stryker disable next-line ConditionalExpression: equivalent — with rest 0 the mask is 0, so nothing is added
    if (rest !== 0) total += popcount32(this.bytes[wholeBytes]! & ((1 << rest) - 1));
    return total;
  }
}
