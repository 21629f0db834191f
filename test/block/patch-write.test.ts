/**
 * A write that names its changed sectors (`WriteRequest.changed`, a big
 * disk log's header write) is the same write as the whole buffer: the
 * same content, the same completion time, and after a power cut the same
 * image under every crash strategy; the device only skips copying what it
 * already holds.
 */
import { describe, expect, it } from 'vitest';
import { World } from '../../sim/world.js';
import { CRASH_STRATEGIES } from '../../src/block/crash-state.js';
import { fixedLatency } from '../../src/block/latency.js';

const SECTORS = 64;

/** A device holding a base image, then one write of `next` over it, whole or as a patch. */
function writeOver(patch: boolean, strategy: (typeof CRASH_STRATEGIES)[number]) {
  const world = new World({ seed: 5 });
  const device = world.createDevice({
    name: 'log0',
    sizeSectors: SECTORS,
    writeCache: true,
    latency: { read: fixedLatency(3), write: fixedLatency(9), flush: fixedLatency(4) },
  });
  const base = new Uint8Array(SECTORS * 512).map((_, index) => (index * 7) & 0xff);
  device.write({ sector: 0, data: base }, () => {});
  device.flush(() => {});
  world.scheduler.runUntilIdle();
  const next = base.slice();
  // Sectors 3, 10-12 and 63 change.
  for (const sector of [3, 10, 11, 12, 63]) next.fill(sector, sector * 512, sector * 512 + 100);
  let completedAt = -1;
  device.write(
    {
      sector: 0,
      data: next,
      ...(patch
        ? {
            changed: [
              { sectorOffset: 3, sectorCount: 1 },
              { sectorOffset: 10, sectorCount: 3 },
              { sectorOffset: 63, sectorCount: 1 },
            ],
          }
        : {}),
    },
    () => {
      completedAt = world.scheduler.now();
    },
  );
  world.scheduler.runUntilIdle();
  const visible = device.content.read(0, SECTORS);
  device.crash(strategy);
  return { completedAt, visible, crashed: device.content.read(0, SECTORS), stats: device.stats };
}

describe('a write naming its changed sectors is the whole write', () => {
  it.each(CRASH_STRATEGIES)('same content, time and crash image (%s)', (strategy) => {
    const whole = writeOver(false, strategy);
    const patch = writeOver(true, strategy);
    expect(patch.completedAt).toBe(whole.completedAt);
    expect(patch.visible).toEqual(whole.visible);
    expect(patch.crashed).toEqual(whole.crashed);
    expect(patch.stats.sectorsWritten).toBe(whole.stats.sectorsWritten);
  });

  it('refuses a changed span outside the write', () => {
    const world = new World({ seed: 1 });
    const device = world.createDevice({ name: 'd', sizeSectors: 8 });
    const data = new Uint8Array(4 * 512);
    for (const span of [
      { sectorOffset: 3, sectorCount: 2 },
      { sectorOffset: -1, sectorCount: 1 },
      { sectorOffset: 0, sectorCount: 0 },
    ]) {
      expect(() => device.write({ sector: 0, data, changed: [span] }, () => {})).toThrow(
        /is outside a 4-sector write/,
      );
    }
  });
});
