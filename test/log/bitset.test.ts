import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BITS_PER_LONG, bitsetSizeBytes, LeBitset } from '../../src/log/bitset.js';

/** The naive reading of the little-endian layout: bit b is bit (b & 7) of byte (b >> 3). */
function naiveTest(bytes: Uint8Array, bit: number): number {
  return (bytes[bit >> 3]! >> (bit & 7)) & 1;
}

function naiveFindNextZero(bytes: Uint8Array, sizeBits: number, fromBit: number): number {
  for (let bit = fromBit; bit < sizeBits; bit++) if (naiveTest(bytes, bit) === 0) return bit;
  return sizeBits;
}

function naiveFindNextOne(bytes: Uint8Array, sizeBits: number, fromBit: number): number {
  for (let bit = fromBit; bit < sizeBits; bit++) if (naiveTest(bytes, bit) === 1) return bit;
  return sizeBits;
}

function naiveCount(bytes: Uint8Array, toBit: number): number {
  let count = 0;
  for (let bit = 0; bit < toBit; bit++) count += naiveTest(bytes, bit);
  return count;
}

/** Byte arrays whose length is a whole number of longs, dense in 0xFF to exercise word skips. */
const bitsetBytes = fc
  .integer({ min: 1, max: 12 })
  .chain((longs) =>
    fc
      .uint8Array({ minLength: longs * 8, maxLength: longs * 8 })
      .chain((random) =>
        fc
          .array(fc.boolean(), { minLength: random.length, maxLength: random.length })
          .map((full) => random.map((byte, index) => (full[index] ? 0xff : byte))),
      ),
  );

/** The same bytes at offset 0 (word scans) and at offset 1 (byte-only scans). */
function bothAlignments(bytes: Uint8Array): LeBitset[] {
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  return [new LeBitset(bytes.slice()), new LeBitset(shifted.subarray(1))];
}

describe('bitset size', () => {
  it('§2.1 rounds a bit count up to whole 64-bit longs (BITS_PER_LONG)', () => {
    expect(BITS_PER_LONG).toBe(64);
    expect(bitsetSizeBytes(0)).toBe(0);
    expect(bitsetSizeBytes(1)).toBe(8);
    expect(bitsetSizeBytes(64)).toBe(8);
    expect(bitsetSizeBytes(65)).toBe(16);
    expect(bitsetSizeBytes(100)).toBe(16);
    expect(bitsetSizeBytes(1_000_000)).toBe(125_000);
    expect(LeBitset.allocate(65).sizeBits).toBe(128);
  });

  it('rejects a negative or fractional bit count, and memory that is not whole longs', () => {
    expect(() => bitsetSizeBytes(-1)).toThrow(RangeError);
    expect(() => bitsetSizeBytes(1.5)).toThrow(/1.5 bits/);
    expect(() => new LeBitset(new Uint8Array(12))).toThrow(/12 bytes is not a whole number/);
  });
});

describe('little-endian bit layout', () => {
  it('§2.2 bit r is bit r & 7 of byte r >> 3, whatever the host byte order', () => {
    const bitset = LeBitset.allocate(64);
    bitset.set(0);
    bitset.set(9);
    bitset.set(31);
    bitset.set(63);
    expect([...bitset.bytes]).toEqual([0x01, 0x02, 0x00, 0x80, 0x00, 0x00, 0x00, 0x80]);
    expect(bitset.test(9)).toBe(1);
    expect(bitset.test(8)).toBe(0);
    bitset.clear(9);
    expect(bitset.bytes[1]).toBe(0);
    expect(bitset.test(9)).toBe(0);
  });

  it('set and clear change only their own bit', () => {
    fc.assert(
      fc.property(bitsetBytes, fc.nat(), fc.boolean(), (bytes, seed, value) => {
        const bitset = new LeBitset(bytes.slice());
        const bit = seed % bitset.sizeBits;
        if (value) bitset.set(bit);
        else bitset.clear(bit);
        for (let other = 0; other < bitset.sizeBits; other++) {
          const expected = other === bit ? (value ? 1 : 0) : naiveTest(bytes, other);
          if (bitset.test(other) !== expected) return false;
        }
        return true;
      }),
    );
  });

  it('asserts on an index past its memory', () => {
    const bitset = LeBitset.allocate(64);
    expect(() => bitset.test(64)).toThrow(/past its memory/);
    expect(() => bitset.set(-1)).toThrow(/past its memory/);
  });
});

describe('find_next_zero_bit_le', () => {
  it('returns the first clear bit at or after the start, below the size', () => {
    const bitset = LeBitset.allocate(128);
    bitset.fill(1);
    bitset.clear(5);
    bitset.clear(100);
    expect(bitset.findNextZero(128, 0)).toBe(5);
    expect(bitset.findNextZero(128, 5)).toBe(5);
    expect(bitset.findNextZero(128, 6)).toBe(100);
    expect(bitset.findNextZero(100, 6)).toBe(100);
    expect(bitset.findNextZero(128, 101)).toBe(128);
  });

  it('returns the size when the start is at or past it, or nothing is clear below it', () => {
    const bitset = LeBitset.allocate(64);
    expect(bitset.findNextZero(10, 10)).toBe(10);
    expect(bitset.findNextZero(10, 20)).toBe(10);
    bitset.fill(1);
    bitset.clear(12);
    expect(bitset.findNextZero(12, 0)).toBe(12);
    expect(bitset.findNextZero(13, 0)).toBe(12);
  });

  it('agrees with a bit-by-bit search for any memory, size and start (aligned or not)', () => {
    fc.assert(
      fc.property(bitsetBytes, fc.nat(), fc.nat(), (bytes, sizeSeed, fromSeed) => {
        const sizeBits = sizeSeed % (bytes.length * 8 + 1);
        const fromBit = fromSeed % (bytes.length * 8 + 8);
        const expected = naiveFindNextZero(bytes, sizeBits, fromBit);
        for (const bitset of bothAlignments(bytes)) {
          if (bitset.findNextZero(sizeBits, fromBit) !== expected) return false;
        }
        return true;
      }),
    );
  });
});

describe('find_next_bit_le', () => {
  it('returns the first set bit at or after the start, below the size, or the size', () => {
    const bitset = LeBitset.allocate(128);
    expect(bitset.findNextOne(128, 0)).toBe(128);
    bitset.set(5);
    bitset.set(70);
    expect(bitset.findNextOne(128, 0)).toBe(5);
    expect(bitset.findNextOne(128, 5)).toBe(5);
    expect(bitset.findNextOne(128, 6)).toBe(70);
    expect(bitset.findNextOne(70, 6)).toBe(70);
    expect(bitset.findNextOne(69, 6)).toBe(69);
    expect(bitset.findNextOne(128, 71)).toBe(128);
    expect(bitset.findNextOne(128, 2 ** 32)).toBe(128);
    expect(() => bitset.findNextOne(129, 0)).toThrow('bitset search limit past its memory');
  });

  it('agrees with a bit-by-bit search for any memory, size and start (aligned or not)', () => {
    fc.assert(
      fc.property(bitsetBytes, fc.nat(), fc.nat(), (dense, sizeSeed, fromSeed) => {
        // The dense-in-0xFF memory inverted: long runs of zeros to skip.
        const bytes = dense.map((byte) => 255 - byte);
        const sizeBits = sizeSeed % (bytes.length * 8 + 1);
        const fromBit = fromSeed % (bytes.length * 8 + 8);
        const expected = naiveFindNextOne(bytes, sizeBits, fromBit);
        for (const bitset of bothAlignments(bytes)) {
          if (bitset.findNextOne(sizeBits, fromBit) !== expected) return false;
        }
        return true;
      }),
    );
  });
});

describe('memweight', () => {
  it('popcount counts every set bit of the memory, and countOnesBelow those below a limit', () => {
    fc.assert(
      fc.property(bitsetBytes, fc.nat(), (bytes, limitSeed) => {
        const limit = limitSeed % (bytes.length * 8 + 1);
        for (const bitset of bothAlignments(bytes)) {
          if (bitset.popcount() !== naiveCount(bytes, bytes.length * 8)) return false;
          if (bitset.countOnesBelow(limit) !== naiveCount(bytes, limit)) return false;
        }
        return true;
      }),
    );
  });

  it('counts a full bitset', () => {
    const bitset = LeBitset.allocate(200);
    bitset.fill(1);
    expect(bitset.popcount()).toBe(256);
    expect(bitset.countOnesBelow(200)).toBe(200);
  });
});

describe('ranges and copies', () => {
  it('fillRange sets or clears exactly [from, to)', () => {
    fc.assert(
      fc.property(bitsetBytes, fc.nat(), fc.nat(), fc.boolean(), (bytes, a, b, ones) => {
        const size = bytes.length * 8;
        const from = Math.min(a % (size + 1), b % (size + 1));
        const to = Math.max(a % (size + 1), b % (size + 1));
        const bitset = new LeBitset(bytes.slice());
        bitset.fillRange(from, to, ones ? 1 : 0);
        for (let bit = 0; bit < size; bit++) {
          const expected = bit >= from && bit < to ? (ones ? 1 : 0) : naiveTest(bytes, bit);
          if (bitset.test(bit) !== expected) return false;
        }
        return true;
      }),
    );
  });

  it('fill and copyFrom work on whole memory; a copy needs the same size', () => {
    const source = LeBitset.allocate(64);
    source.set(3);
    const target = LeBitset.allocate(64);
    target.fill(1);
    target.copyFrom(source);
    expect([...target.bytes]).toEqual([...source.bytes]);
    expect(() => target.copyFrom(LeBitset.allocate(128))).toThrow(/16 bytes into 8 bytes/);
    expect(() => target.fillRange(3, 65, 1)).toThrow(/outside a 64-bit bitset/);
  });

  it('wraps memory without copying it', () => {
    const buffer = new Uint8Array(24);
    const bitset = new LeBitset(buffer.subarray(8, 24));
    bitset.set(8);
    expect(buffer[9]).toBe(1);
  });
});

describe('LeBitset rejects indexes past its memory (paired with the dm-log callers)', () => {
  it('test, set and clear stop at the end of the memory', () => {
    const bitset = LeBitset.allocate(64);
    expect(bitset.sizeBits).toBe(64);
    bitset.set(63);
    expect(bitset.test(63)).toBe(1);
    bitset.clear(63);
    expect(bitset.test(63)).toBe(0);
    expect(() => bitset.test(64)).toThrow('bitset index past its memory');
    expect(() => bitset.set(64)).toThrow('bitset index past its memory');
    expect(() => bitset.clear(64)).toThrow('bitset index past its memory');
  });

  it('fillRange, findNextZero and countOnesBelow check their limits', () => {
    const bitset = LeBitset.allocate(64);
    expect(() => bitset.fillRange(-1, 3, 1)).toThrow(
      'bit range [-1, 3) is outside a 64-bit bitset',
    );
    expect(() => bitset.fillRange(5, 3, 1)).toThrow('bit range [5, 3) is outside a 64-bit bitset');
    expect(() => bitset.fillRange(0, 65, 1)).toThrow(
      'bit range [0, 65) is outside a 64-bit bitset',
    );
    bitset.fillRange(0, 64, 1);
    expect(bitset.countOnesBelow(64)).toBe(64);
    expect(() => bitset.countOnesBelow(65)).toThrow('count limit 65 is outside the bitset');
    expect(() => bitset.countOnesBelow(-1)).toThrow('count limit -1 is outside the bitset');
    expect(() => bitset.findNextZero(65, 0)).toThrow('bitset search limit past its memory');
    expect(bitset.findNextZero(64, 0)).toBe(64);
    expect(bitset.findNextZero(64, 64)).toBe(64);
  });

  it('copies only between bitsets of one size', () => {
    const small = LeBitset.allocate(64);
    const big = LeBitset.allocate(128);
    expect(() => small.copyFrom(big)).toThrow('bitset copy of 16 bytes into 8 bytes');
    big.set(3);
    const other = LeBitset.allocate(128);
    other.copyFrom(big);
    expect(other.test(3)).toBe(1);
  });
});

describe('LeBitset edges: whole-memory fills, far starts, empty counts, any memory offset', () => {
  it('fill(0) clears every bit and fill(1) sets every bit of the memory', () => {
    const bitset = LeBitset.allocate(128);
    bitset.fill(1);
    expect([...bitset.bytes]).toEqual(new Array(16).fill(0xff));
    bitset.fill(0);
    expect([...bitset.bytes]).toEqual(new Array(16).fill(0));
    expect(bitset.popcount()).toBe(0);
  });

  it('find_next_zero_bit_le from a start at or past the size is the size, even past 2^32', () => {
    // Bit 0 is clear: a search that wrapped its start to 32 bits would find it.
    const bitset = LeBitset.allocate(64);
    for (const fromBit of [64, 65, 2 ** 32, 2 ** 32 + 3, 2 ** 40]) {
      expect(bitset.findNextZero(64, fromBit)).toBe(64);
      expect(bitset.findNextZero(10, fromBit)).toBe(10);
    }
  });

  it('countOnesBelow(0) counts nothing, even in a full bitset', () => {
    const bitset = LeBitset.allocate(64);
    bitset.fill(1);
    expect(bitset.countOnesBelow(0)).toBe(0);
    expect(bitset.countOnesBelow(1)).toBe(1);
  });

  it('searches, counts and fills agree with bit-by-bit answers at every byte offset of the memory', () => {
    fc.assert(
      fc.property(
        bitsetBytes,
        fc.integer({ min: 0, max: 7 }),
        fc.nat(),
        fc.nat(),
        fc.boolean(),
        (bytes, byteOffset, a, b, ones) => {
          const size = bytes.length * 8;
          // Starts and limits anywhere: mid-byte, mid-word, across 32-bit word boundaries.
          const low = Math.min(a % (size + 1), b % (size + 1));
          const high = Math.max(a % (size + 1), b % (size + 1));
          const memory = new Uint8Array(bytes.length + byteOffset);
          memory.set(bytes, byteOffset);
          const bitset = new LeBitset(memory.subarray(byteOffset));
          expect(bitset.findNextZero(high, low)).toBe(naiveFindNextZero(bytes, high, low));
          expect(bitset.countOnesBelow(high)).toBe(naiveCount(bytes, high));
          expect(bitset.popcount()).toBe(naiveCount(bytes, size));
          bitset.fillRange(low, high, ones ? 1 : 0);
          const expected = bytes.slice();
          for (let bit = low; bit < high; bit++) {
            if (ones) expected[bit >> 3] = expected[bit >> 3]! | (1 << (bit & 7));
            else expected[bit >> 3] = expected[bit >> 3]! & ~(1 << (bit & 7));
          }
          expect([...bitset.bytes]).toEqual([...expected]);
          expect(memory.subarray(0, byteOffset).every((byte) => byte === 0)).toBe(true);
        },
      ),
    );
  });
});

/**
 * A 1 PiB mirror with 512 KiB regions has 2^31 regions, and a log may have
 * up to 2^32 − 1 (§2.1: `region_count` is an unsigned int), so its bitsets
 * reach 2^32 bits. These bitsets are big, but zeroed memory is only mapped
 * when touched, so only the bytes a test writes cost memory.
 */
describe('bit counts at and past 2^31 (a 1 PiB mirror)', () => {
  it('fillRange sets a range longer than 2^31 bits exactly (the `& ~7` that went negative)', () => {
    const bitset = LeBitset.allocate(2 ** 31 + 64);
    bitset.fillRange(3, 2 ** 31 + 5, 1);
    for (const [bit, value] of [
      [2, 0],
      [3, 1],
      [2 ** 31 - 1, 1],
      [2 ** 31, 1],
      [2 ** 31 + 4, 1],
      [2 ** 31 + 5, 0],
    ] as const) {
      expect(bitset.test(bit), `bit ${bit}`).toBe(value);
    }
    expect(bitset.countOnesBelow(2 ** 31 + 64)).toBe(2 ** 31 + 2);
    expect(bitset.findNextZero(2 ** 31 + 64, 3)).toBe(2 ** 31 + 5);
  });

  it('ranges, counts and searches at 2^31 − 1, 2^31, 2^32 − 1 and 2^32 bits', () => {
    const bitset = LeBitset.allocate(2 ** 32);
    expect(bitset.sizeBits).toBe(2 ** 32);
    for (const toBit of [2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1]) {
      bitset.fillRange(toBit - 3, toBit, 1);
      expect(bitset.findNextZero(2 ** 32, toBit - 3)).toBe(toBit);
      expect(bitset.findNextOne(2 ** 32, toBit - 40)).toBe(toBit - 3);
      bitset.fillRange(toBit - 3, toBit, 0);
    }
    bitset.fillRange(2 ** 31 - 2, 2 ** 31 + 2, 1);
    // The last bits of a 2^32-bit bitset: limits of 2^32 are not read as 0.
    bitset.fillRange(2 ** 32 - 20, 2 ** 32, 1);
    expect(bitset.test(2 ** 32 - 1)).toBe(1);
    expect(bitset.test(2 ** 32 - 21)).toBe(0);
    expect(bitset.countOnesBelow(2 ** 32)).toBe(24);
    expect(bitset.findNextZero(2 ** 32, 2 ** 32 - 20)).toBe(2 ** 32);
    expect(bitset.findNextZero(2 ** 32, 2 ** 32 - 21)).toBe(2 ** 32 - 21);
    bitset.clear(2 ** 32 - 1);
    expect(bitset.findNextZero(2 ** 32, 2 ** 32 - 20)).toBe(2 ** 32 - 1);
  });

  it('a single-bit index of 2^32 or more does not wrap into the memory', () => {
    const bitset = LeBitset.allocate(64);
    for (const bit of [2 ** 32, 2 ** 32 + 1, 2 ** 35, -1]) {
      expect(() => bitset.test(bit), `test(${bit})`).toThrow('bitset index past its memory');
      expect(() => bitset.set(bit), `set(${bit})`).toThrow('bitset index past its memory');
      expect(() => bitset.clear(bit), `clear(${bit})`).toThrow('bitset index past its memory');
    }
    expect(bitset.popcount()).toBe(0);
  });
});
