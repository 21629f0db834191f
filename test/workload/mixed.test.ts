import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../sim/random.js';
import { MixedReadWrite } from '../../sim/workload/mixed.js';
import { drain, misfits } from './workload-helpers.js';

function mixed(seed: number, deviceSizeSectors: number, blockSizeSectors: number, ops: number) {
  const random = new SeededRandom(seed).stream('workload');
  return new MixedReadWrite({ deviceSizeSectors, blockSizeSectors, ops, random });
}

describe('MixedReadWrite', () => {
  test.prop([
    fc.nat({ max: 1_000_000 }),
    fc.integer({ min: 128, max: 2 ** 36 }),
    fc.constantFrom(1, 8, 128),
    fc.nat({ max: 200 }),
  ])(
    'yields ops reads and writes, block-aligned and inside the device',
    (seed, size, block, ops) => {
      const requests = drain(mixed(seed, size, block, ops));
      expect(requests).toHaveLength(ops);
      const geometry = { deviceSizeSectors: size, blockSizeSectors: block, ops: ['read', 'write'] };
      expect(misfits(requests, geometry)).toEqual([]);
    },
  );

  it('writes about 70 % of the time', () => {
    const requests = drain(mixed(11, 1 << 20, 8, 20_000));
    const writes = requests.filter((request) => request.op === 'write').length;
    // Expected 14000; the standard deviation is about 65.
    expect(Math.abs(writes - 14_000)).toBeLessThan(400);
  });

  it('is a pure function of the seed', () => {
    expect(drain(mixed(5, 1 << 20, 8, 300))).toEqual(drain(mixed(5, 1 << 20, 8, 300)));
    expect(drain(mixed(5, 1 << 20, 8, 300))).not.toEqual(drain(mixed(6, 1 << 20, 8, 300)));
  });

  it('reads and writes spread over the device alike', () => {
    const sizeSectors = 1 << 20;
    const requests = drain(mixed(12, sizeSectors, 8, 20_000));
    for (const op of ['read', 'write'] as const) {
      const sectors = requests.filter((request) => request.op === op).map((r) => r.sector);
      const lowerHalf = sectors.filter((sector) => sector < sizeSectors / 2).length;
      expect(Math.abs(lowerHalf / sectors.length - 0.5)).toBeLessThan(0.03);
    }
  });
});
