import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../sim/random.js';
import { RandomWrite } from '../../sim/workload/random-write.js';
import { drain, misfits } from './workload-helpers.js';

function randwrite(seed: number, deviceSizeSectors: number, blockSizeSectors: number, ops: number) {
  const random = new SeededRandom(seed).stream('workload');
  return new RandomWrite({ deviceSizeSectors, blockSizeSectors, ops, random });
}

describe('RandomWrite', () => {
  test.prop([
    fc.nat({ max: 1_000_000 }),
    fc.integer({ min: 1, max: 2 ** 41 }),
    fc.constantFrom(1, 8, 16, 128),
    fc.nat({ max: 200 }),
  ])('yields exactly ops block-aligned writes inside the device', (seed, size, block, ops) => {
    fc.pre(block <= size);
    const requests = drain(randwrite(seed, size, block, ops));
    expect(requests).toHaveLength(ops);
    const geometry = { deviceSizeSectors: size, blockSizeSectors: block, ops: ['write'] };
    expect(misfits(requests, geometry)).toEqual([]);
  });

  it('is a pure function of the seed', () => {
    const first = drain(randwrite(42, 1 << 20, 8, 500));
    expect(drain(randwrite(42, 1 << 20, 8, 500))).toEqual(first);
    expect(drain(randwrite(43, 1 << 20, 8, 500))).not.toEqual(first);
  });

  it('keeps returning undefined once done', () => {
    const workload = randwrite(1, 64, 8, 2);
    expect(drain(workload)).toHaveLength(2);
    expect(workload.next()).toBeUndefined();
  });

  it('spreads writes roughly uniformly over 16 coarse buckets', () => {
    const sizeSectors = 16 * 1024 * 8;
    const requests = drain(randwrite(7, sizeSectors, 8, 32_000));
    const buckets = new Array<number>(16).fill(0);
    for (const request of requests) {
      const bucket = Math.floor((request.sector / sizeSectors) * 16);
      buckets[bucket] = buckets[bucket]! + 1;
    }
    // 2000 expected per bucket; the standard deviation is about 43.
    for (const count of buckets) expect(Math.abs(count - 2000)).toBeLessThan(250);
  });

  it('reaches blocks past 2^32 on a huge device', () => {
    const sizeSectors = 2 ** 41;
    const requests = drain(randwrite(3, sizeSectors, 8, 200));
    expect(requests.some((request) => request.sector > 2 ** 38)).toBe(true);
  });

  it('never addresses the partial block at the end of the device', () => {
    const requests = drain(randwrite(5, 8 * 4 + 5, 8, 400));
    expect(new Set(requests.map((request) => request.sector))).toEqual(new Set([0, 8, 16, 24]));
  });

  it('rejects a bad geometry or op count with a RangeError naming the value', () => {
    const random = new SeededRandom(1).stream('workload');
    const make = (deviceSizeSectors: number, blockSizeSectors: number, ops: number) => () =>
      new RandomWrite({ deviceSizeSectors, blockSizeSectors, ops, random });
    expect(make(0, 8, 1)).toThrow(/device size 0 sectors/);
    expect(make(2 ** 60, 8, 1)).toThrow(RangeError);
    expect(make(64, 0, 1)).toThrow(/block size 0 sectors/);
    expect(make(64, 1.5, 1)).toThrow(RangeError);
    expect(make(64, 128, 1)).toThrow(/larger than the device/);
    expect(make(64, 8, -1)).toThrow(/ops -1/);
    expect(make(64, 8, 0.5)).toThrow(RangeError);
  });
});
