/**
 * `WriteRequest.stable`: a caller that never changes a write's data after
 * submitting it lets a cached device keep the buffer instead of copying it
 * (a performance-only contract; the NBD server sets it). Observable only
 * by breaking the promise, which these tests do on purpose.
 */
import { describe, expect, it } from 'vitest';
import { MirrorStack } from '../../sim/mirror-stack.js';
import { SeededRandom } from '../../sim/random.js';
import { DeterministicScheduler } from '../../sim/scheduler.js';
import { World } from '../../sim/world.js';
import { SimulatedDevice } from '../../src/block/simulated-device.js';
import '../../src/log/builtin-logs.js';

function cachedDevice(): { device: SimulatedDevice; scheduler: DeterministicScheduler } {
  const scheduler = new DeterministicScheduler();
  const device = new SimulatedDevice({
    name: 'd',
    sizeSectors: 64,
    scheduler,
    random: new SeededRandom(1),
    writeCache: true,
  });
  return { device, scheduler };
}

describe('stable write data', () => {
  it('a cached device copies ordinary write data, and keeps stable data by reference', () => {
    for (const stable of [false, true]) {
      const { device, scheduler } = cachedDevice();
      const data = new Uint8Array(512).fill(1);
      device.write({ sector: 0, data, stable }, (error) => expect(error).toBeNull());
      scheduler.runUntilIdle();
      data.fill(9);
      device.crash('all');
      expect(device.content.read(0, 1)[0], `stable ${stable}`).toBe(stable ? 9 : 1);
    }
  });

  it("the mirror passes a user write's stable flag down to every leg", () => {
    for (const stable of [false, true]) {
      const world = new World({ seed: 2 });
      const stack = new MirrorStack({
        world,
        table: '0 1024 mirror core 1 256 2 leg0 0 leg1 0',
        legDefaults: { writeCache: true },
      });
      stack.activate();
      world.scheduler.runUntilIdle();
      const data = new Uint8Array(4096).fill(3);
      stack.device.write({ sector: 8, data, stable }, (error) => expect(error).toBeNull());
      world.scheduler.runUntilIdle();
      data.fill(7);
      world.crash('all');
      for (const leg of stack.legDevices)
        expect(leg.content.read(8, 1)[0], `${leg.name} stable ${stable}`).toBe(stable ? 7 : 3);
    }
  });
});
