import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../sim/random.js';
import {
  scrambleRank,
  ZIPF_THETA_DEFAULT,
  ZipfRankSampler,
  ZipfWrite,
} from '../../sim/workload/zipf-write.js';
import { drain, misfits } from './workload-helpers.js';

function zipf(seed: number, deviceSizeSectors: number, blockSizeSectors: number, ops: number) {
  const random = new SeededRandom(seed).stream('workload');
  return new ZipfWrite({ deviceSizeSectors, blockSizeSectors, ops, random });
}

/** Sum of k^-theta for k = 1..count: exact up to 10^5 terms, then the midpoint integral. */
function harmonic(count: number, theta: number): number {
  const exactTerms = Math.min(count, 100_000);
  let sum = 0;
  for (let k = 1; k <= exactTerms; k++) sum += k ** -theta;
  if (count > exactTerms) {
    const integral = (x: number) => x ** (1 - theta) / (1 - theta);
    sum += integral(count + 0.5) - integral(exactTerms + 0.5);
  }
  return sum;
}

describe('ZipfRankSampler', () => {
  for (const theta of [0.5, 1, 1.2, 3]) {
    it(`matches the exact zipf(${theta}) probabilities over 30 ranks`, () => {
      const rankCount = 30;
      const sampler = new ZipfRankSampler(rankCount, theta);
      const random = new SeededRandom(17).stream('zipf');
      const samples = 60_000;
      const counts = new Array<number>(rankCount + 1).fill(0);
      for (let index = 0; index < samples; index++) {
        const rank = sampler.sample(random);
        counts[rank] = counts[rank]! + 1;
      }
      expect(counts[0]).toBe(0);
      const total = harmonic(rankCount, theta);
      for (let rank = 1; rank <= rankCount; rank++) {
        const p = rank ** -theta / total;
        const sigma = Math.sqrt(samples * p * (1 - p));
        expect(Math.abs(counts[rank]! - samples * p)).toBeLessThan(5 * sigma + 1);
      }
    });
  }

  it('samples 2^32 ranks in O(1) memory with the right head probability', () => {
    const rankCount = 2 ** 32;
    const sampler = new ZipfRankSampler(rankCount, 1.2);
    const random = new SeededRandom(3).stream('zipf');
    const samples = 40_000;
    let rankOne = 0;
    let beyondMillion = 0;
    let outOfRange = 0;
    for (let index = 0; index < samples; index++) {
      const rank = sampler.sample(random);
      if (!(rank >= 1 && rank <= rankCount && Number.isInteger(rank))) outOfRange++;
      if (rank === 1) rankOne++;
      if (rank > 1_000_000) beyondMillion++;
    }
    const p = 1 / harmonic(rankCount, 1.2);
    const sigma = Math.sqrt(samples * p * (1 - p));
    expect(Math.abs(rankOne - samples * p)).toBeLessThan(5 * sigma);
    // The tail is heavy enough that some ranks land far out.
    expect(beyondMillion).toBeGreaterThan(0);
    expect(outOfRange).toBe(0);
  });

  it('gives rank 1 for a single rank', () => {
    const random = new SeededRandom(1).stream('zipf');
    expect(new ZipfRankSampler(1, 1.2).sample(random)).toBe(1);
  });

  it('rejects a bad rank count or theta with a RangeError', () => {
    expect(() => new ZipfRankSampler(0, 1.2)).toThrow(/rank count 0/);
    expect(() => new ZipfRankSampler(10, 0)).toThrow(/theta 0/);
    expect(() => new ZipfRankSampler(10, Number.NaN)).toThrow(RangeError);
  });
});

describe('scrambleRank', () => {
  it('is a bijection of [0, count) for every count up to 300 and some awkward ones', () => {
    const counts = [
      ...Array.from({ length: 300 }, (_, index) => index + 1),
      1023,
      1024,
      1025,
      4097,
    ];
    const failures: number[] = [];
    for (const count of counts) {
      const seen = new Set<number>();
      for (let index = 0; index < count; index++) {
        const block = scrambleRank(index, count);
        if (block >= 0 && block < count && Number.isInteger(block)) seen.add(block);
      }
      if (seen.size !== count) failures.push(count);
    }
    expect(failures).toEqual([]);
  });

  test.prop([
    fc.integer({ min: 2, max: 2 ** 50 }),
    fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
      minLength: 2,
      maxLength: 20,
    }),
  ])('maps distinct indexes of any count to distinct blocks in range', (count, fractions) => {
    const indexes = [...new Set(fractions.map((fraction) => Math.floor(fraction * count)))];
    const blocks = indexes.map((index) => scrambleRank(index, count));
    for (const block of blocks) expect(block >= 0 && block < count).toBe(true);
    expect(new Set(blocks).size).toBe(indexes.length);
  });

  it('spreads the 64 hottest ranks over the device', () => {
    const count = 1_000_000;
    const sixteenths = new Set<number>();
    for (let index = 0; index < 64; index++) {
      sixteenths.add(Math.floor((scrambleRank(index, count) / count) * 16));
    }
    expect(sixteenths.size).toBeGreaterThanOrEqual(12);
  });

  it('is fixed: the same rank maps to the same block every time', () => {
    expect(scrambleRank(0, 2 ** 32)).toBe(scrambleRank(0, 2 ** 32));
    expect(scrambleRank(12345, 999_999)).toBe(scrambleRank(12345, 999_999));
  });
});

describe('ZipfWrite', () => {
  test.prop([
    fc.nat({ max: 1_000_000 }),
    fc.integer({ min: 128, max: 2 ** 41 }),
    fc.constantFrom(1, 8, 128),
    fc.nat({ max: 100 }),
  ])('yields ops block-aligned writes inside the device', (seed, size, block, ops) => {
    const requests = drain(zipf(seed, size, block, ops));
    expect(requests).toHaveLength(ops);
    const geometry = { deviceSizeSectors: size, blockSizeSectors: block, ops: ['write'] };
    expect(misfits(requests, geometry)).toEqual([]);
  });

  it('sends far more than 1 % of writes to the hottest 1 % of blocks', () => {
    const blockCount = 10_000;
    const requests = drain(zipf(21, blockCount * 8, 8, 20_000));
    const perBlock = new Map<number, number>();
    for (const request of requests) {
      perBlock.set(request.sector, (perBlock.get(request.sector) ?? 0) + 1);
    }
    const hottest = [...perBlock.values()].sort((a, b) => b - a).slice(0, blockCount / 100);
    const share = hottest.reduce((sum, count) => sum + count, 0) / requests.length;
    // Exactly, ranks 1-100 of zipf(1.2) over 10^4 blocks carry about 73 % of the mass.
    expect(share).toBeGreaterThan(0.6);
  });

  it('works over 2^32 blocks without tables', () => {
    const requests = drain(zipf(4, 2 ** 35, 8, 2000));
    expect(requests).toHaveLength(2000);
    const distinct = new Set(requests.map((request) => request.sector));
    // A hot spot repeats blocks, and a heavy tail still reaches many others.
    expect(distinct.size).toBeLessThan(2000);
    expect(distinct.size).toBeGreaterThan(100);
  });

  it('is a pure function of the seed and names its theta', () => {
    const first = zipf(8, 1 << 20, 8, 300);
    expect(first.name).toBe(`zipf:${ZIPF_THETA_DEFAULT}`);
    expect(drain(first)).toEqual(drain(zipf(8, 1 << 20, 8, 300)));
    expect(drain(zipf(8, 1 << 20, 8, 300))).not.toEqual(drain(zipf(9, 1 << 20, 8, 300)));
  });

  it('keeps the same hot block for every seed', () => {
    const hottest = (seed: number) => {
      const counts = new Map<number, number>();
      for (const request of drain(zipf(seed, 1 << 20, 8, 3000))) {
        counts.set(request.sector, (counts.get(request.sector) ?? 0) + 1);
      }
      return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    };
    expect(hottest(1)).toBe(hottest(2));
    expect(hottest(1)).toBe(scrambleRank(0, (1 << 20) / 8) * 8);
  });

  it('takes a custom theta', () => {
    const random = new SeededRandom(1).stream('workload');
    const steep = new ZipfWrite({
      deviceSizeSectors: 8000,
      blockSizeSectors: 8,
      ops: 1000,
      random,
      theta: 4,
    });
    const sectors = drain(steep).map((request) => request.sector);
    // At theta 4, rank 1 carries 1 / zeta(4) ≈ 92 % of the writes.
    const top = sectors.filter((sector) => sector === scrambleRank(0, 1000) * 8).length;
    expect(top).toBeGreaterThan(850);
    expect(steep.name).toBe('zipf:4');
  });
});
