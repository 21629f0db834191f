import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../sim/random.js';
import { SequentialWrite } from '../../sim/workload/sequential-write.js';
import { drain } from './workload-helpers.js';

describe('SequentialWrite', () => {
  const random = new SeededRandom(1).stream('workload');

  it('writes block after block from sector 0 and wraps after the last whole block', () => {
    const workload = new SequentialWrite({
      deviceSizeSectors: 4 * 128 + 100,
      blockSizeSectors: 128,
      ops: 10,
      random,
    });
    const sectors = drain(workload).map((request) => request.sector);
    expect(sectors).toEqual([0, 128, 256, 384, 0, 128, 256, 384, 0, 128]);
    expect(workload.name).toBe('seqwrite');
  });

  it('issues whole-block writes without FUA', () => {
    const requests = drain(
      new SequentialWrite({ deviceSizeSectors: 1024, blockSizeSectors: 128, ops: 3, random }),
    );
    for (const request of requests) {
      expect(request).toMatchObject({ op: 'write', sectorCount: 128, fua: false });
    }
  });

  it('does not draw from its random stream', () => {
    const stream = new SeededRandom(9).stream('workload');
    const untouched = new SeededRandom(9).stream('workload');
    drain(
      new SequentialWrite({ deviceSizeSectors: 64, blockSizeSectors: 8, ops: 20, random: stream }),
    );
    expect(stream.nextUint32()).toBe(untouched.nextUint32());
  });

  it('yields nothing for zero ops', () => {
    const workload = new SequentialWrite({
      deviceSizeSectors: 64,
      blockSizeSectors: 8,
      ops: 0,
      random,
    });
    expect(workload.next()).toBeUndefined();
  });
});
