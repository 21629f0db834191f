import { describe, expect, it } from 'vitest';
import { runScaleScenario } from '../../sim/scenario/scale-scenario.js';

describe('the mirror-scale scenario', () => {
  it('resyncs exactly the regions the crash left dirty, and measures while the mirror is alive', () => {
    let measured = 0;
    let clock = 0;
    const result = runScaleScenario(2 ** 21, {
      wallClockMs: () => clock++,
      measure: () => {
        measured++;
        return { rssMiB: 1, heapMiB: 2, arrayBuffersMiB: 3 };
      },
    });
    expect(measured).toBe(1);
    expect(result.memory).toEqual({ rssMiB: 1, heapMiB: 2, arrayBuffersMiB: 3 });
    expect(result.regions).toBe(2048);
    expect(result.dirtyRegions).toBeGreaterThan(0);
    expect(result.dirtyRegions).toBeLessThan(64);
    expect(result.resyncedRegions).toBe(result.dirtyRegions);
    expect(result.recoveryWallMs).toBe(1);
  });
});
