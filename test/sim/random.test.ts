import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSeed, SeededRandom } from '../../sim/random.js';
import { hashString32 } from '../../src/hash.js';
import type { RandomStream } from '../../src/world/random-stream.js';

function draws(stream: RandomStream, count: number): number[] {
  return Array.from({ length: count }, () => stream.nextUint32());
}

describe('SeededRandom named streams', () => {
  it('gives the same sequence on every machine for the same seed and name (golden values)', () => {
    const stream = new SeededRandom(42).stream('leg0.latency');
    expect(draws(stream, 3)).toEqual([2472424975, 2146764201, 1929009932]);
    expect(stream.nextFloat()).toBe(0.20141296973810263);
    expect(stream.nextInt(1, 6)).toBe(3);
  });

  it('gives distinct streams across seeds and names (no seed ^ hash collisions)', () => {
    // The first derivation mixed seed and name into one 32-bit word, so stream A under seed s
    // equalled stream B under seed s ^ hash(A) ^ hash(B).
    fc.assert(
      fc.property(fc.nat(), fc.string(), fc.string(), (seed, nameA, nameB) => {
        fc.pre(nameA !== nameB);
        const twinSeed = (seed ^ hashString32(nameA) ^ hashString32(nameB)) >>> 0;
        const first = new SeededRandom(seed).stream(nameA);
        const second = new SeededRandom(twinSeed).stream(nameB);
        expect(draws(first, 4)).not.toEqual(draws(second, 4));
      }),
    );
  });

  it('gives the same sequence for the same seed and name, in any run', () => {
    fc.assert(
      fc.property(fc.nat(), fc.string(), (seed, name) => {
        const first = new SeededRandom(seed).stream(name);
        const second = new SeededRandom(seed).stream(name);
        expect(draws(first, 8)).toEqual(draws(second, 8));
      }),
    );
  });

  it('gives different sequences for different names and for different seeds', () => {
    const random = new SeededRandom(7);
    const names = ['leg0.latency', 'leg1.latency', 'leg0.faults', 'log.crash', 'workload', ''];
    const sequences = names.map((name) => draws(random.stream(name), 4).join(','));
    expect(new Set(sequences).size).toBe(names.length);
    const seeds = [0, 1, 2, 2 ** 32, 2 ** 32 + 1, 2 ** 52, Number.MAX_SAFE_INTEGER];
    const bySeed = seeds.map((seed) => draws(new SeededRandom(seed).stream('x'), 4).join(','));
    expect(new Set(bySeed).size).toBe(seeds.length);
  });

  it('keeps streams independent: extra draws on one never change another', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(50), (seed, extraDraws) => {
        const quiet = new SeededRandom(seed);
        const expected = draws(quiet.stream('leg1.latency'), 10);
        const noisy = new SeededRandom(seed);
        // Create streams in another order and draw from another one in between.
        const other = noisy.stream('leg0.latency');
        draws(other, extraDraws);
        const target = noisy.stream('leg1.latency');
        const actual: number[] = [];
        for (let index = 0; index < 10; index++) {
          actual.push(target.nextUint32());
          other.nextUint32();
        }
        expect(actual).toEqual(expected);
      }),
    );
  });

  it('caches streams by name; freshStream starts the sequence over without touching the cache', () => {
    const random = new SeededRandom(3);
    const stream = random.stream('a');
    expect(random.stream('a')).toBe(stream);
    const firstTwo = draws(stream, 2);
    const fresh = random.freshStream('a');
    expect(fresh.name).toBe('a');
    expect(draws(fresh, 2)).toEqual(firstTwo);
    // The cached stream continues where it was.
    expect(stream.nextUint32()).not.toBe(firstTwo[0]);
    expect(random.stream('a')).toBe(stream);
  });

  it('rejects seeds that are negative or not safe integers', () => {
    expect(() => new SeededRandom(-1)).toThrow(RangeError);
    expect(() => new SeededRandom(1.5)).toThrow(/1\.5/);
    expect(() => new SeededRandom(2 ** 53)).toThrow(RangeError);
    expect(() => new SeededRandom(Number.NaN)).toThrow(RangeError);
  });
});

describe('RandomStream draws', () => {
  it('nextUint32 is an integer in [0, 2^32) and nextFloat is in [0, 1)', () => {
    const stream = new SeededRandom(11).stream('draws');
    let sumFloat = 0;
    const bad: number[] = [];
    for (let index = 0; index < 5000; index++) {
      const word = stream.nextUint32();
      if (!Number.isInteger(word) || word < 0 || word >= 2 ** 32) bad.push(word);
      const float = stream.nextFloat();
      if (!(float >= 0 && float < 1)) bad.push(float);
      sumFloat += float;
    }
    expect(bad).toEqual([]);
    // The mean of 5000 uniform draws is 0.5 within a few standard errors (0.004 each).
    expect(Math.abs(sumFloat / 5000 - 0.5)).toBeLessThan(0.03);
  });

  it('nextInt stays within inclusive bounds and reaches both ends', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.integer({ min: -1000, max: 1000 }),
        fc.nat(20),
        (seed, low, width) => {
          const stream = new SeededRandom(seed).stream('ints');
          const seen = new Set<number>();
          const outside: number[] = [];
          for (let index = 0; index < 400; index++) {
            const value = stream.nextInt(low, low + width);
            if (!Number.isInteger(value) || value < low || value > low + width) outside.push(value);
            seen.add(value);
          }
          expect(outside).toEqual([]);
          expect(seen.has(low)).toBe(true);
          expect(seen.has(low + width)).toBe(true);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('nextInt handles ranges wider than 2^32', () => {
    const stream = new SeededRandom(5).stream('wide');
    let above = 0;
    for (let index = 0; index < 200; index++) {
      const value = stream.nextInt(0, 2 ** 50);
      expect(Number.isSafeInteger(value) && value >= 0 && value <= 2 ** 50).toBe(true);
      if (value > 2 ** 32) above++;
    }
    expect(above).toBeGreaterThan(150);
  });

  it('nextInt rejects empty ranges and unsafe bounds with a RangeError naming them', () => {
    const stream = new SeededRandom(1).stream('bad');
    expect(() => stream.nextInt(5, 4)).toThrow(/\[5, 4\].*empty/);
    expect(() => stream.nextInt(0, 2 ** 53)).toThrow(RangeError);
    expect(() => stream.nextInt(0.5, 3)).toThrow(RangeError);
  });

  it('nextBoolean honours 0 and 1 exactly without drawing, and rejects other values', () => {
    const random = new SeededRandom(9);
    const stream = random.stream('bools');
    for (let index = 0; index < 100; index++) {
      expect(stream.nextBoolean(0)).toBe(false);
      expect(stream.nextBoolean(1)).toBe(true);
    }
    // Certain outcomes consume nothing: the stream is where a fresh one starts.
    expect(stream.nextUint32()).toBe(random.freshStream('bools').nextUint32());
    expect(() => stream.nextBoolean(-0.1)).toThrow(RangeError);
    expect(() => stream.nextBoolean(1.1)).toThrow(/1\.1/);
    expect(() => stream.nextBoolean(Number.NaN)).toThrow(RangeError);
  });

  it('nextBoolean is true with about the given probability', () => {
    const stream = new SeededRandom(13).stream('p');
    let hits = 0;
    for (let index = 0; index < 10_000; index++) if (stream.nextBoolean(0.25)) hits++;
    // Standard deviation is about 43 hits.
    expect(Math.abs(hits - 2500)).toBeLessThan(250);
  });
});

describe('parseSeed', () => {
  it('parses decimal safe integers', () => {
    expect(parseSeed('0')).toBe(0);
    expect(parseSeed('42')).toBe(42);
    expect(parseSeed(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('parses 0x hex up to 2^53 - 1, and a git commit hash by its first 52 bits', () => {
    expect(parseSeed('0x10')).toBe(16);
    expect(parseSeed('0xFF')).toBe(255);
    expect(parseSeed('0x1fffffffffffff')).toBe(Number.MAX_SAFE_INTEGER);
    const commit = '6820036abcdef0123456789abcdef0123456789a';
    expect(parseSeed(commit)).toBe(0x6820036abcdef);
    // A 40-digit all-decimal hash is a commit hash too.
    const digits = '1234567890123456789012345678901234567890';
    expect(parseSeed(digits)).toBe(0x1234567890123);
  });

  it('refuses bare hex and numbers past 2^53 - 1 instead of folding them onto other seeds', () => {
    // Once read as hex (2748), and two seeds past 2^64 that once both became 0x1844674407370.
    for (const text of ['abc', 'ff', '18446744073709551616', '18446744073709551617']) {
      expect(() => parseSeed(text), text).toThrow(RangeError);
    }
    expect(() => parseSeed(String(2 ** 53))).toThrow(
      /expected a decimal integer from 0 to 2\^53-1/,
    );
    expect(() => parseSeed('0x20000000000000')).toThrow(RangeError);
  });

  it('rejects anything else with a RangeError that names the text', () => {
    for (const text of ['', '-1', '1.5', 'seed', '0x', 'g1', 'a'.repeat(41), 'a'.repeat(39)]) {
      expect(() => parseSeed(text)).toThrow(RangeError);
    }
    expect(() => parseSeed('seed')).toThrow(/"seed"/);
    expect(() => parseSeed('x'.repeat(500))).toThrow(/"x{50}…"/);
  });
});
