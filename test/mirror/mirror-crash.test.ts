import { describe, expect, it } from 'vitest';
import { MirrorStack } from '../../sim/mirror-stack.js';
import { World } from '../../sim/world.js';
import { fixedLatency } from '../../src/block/latency.js';

const LATENCY = { read: fixedLatency(10), write: fixedLatency(20), flush: fixedLatency(30) };

/**
 * A mirror whose region 3 holds 0x11 on every leg, then a crash while a
 * write of 0x22 to it is in flight on both legs: leg 0 keeps it, leg 1
 * loses it. Returns the world after the crash, with the legs differing.
 */
function crashWithLegsApart(table: string): World {
  const world = new World({ seed: 3 });
  const stack = new MirrorStack({
    world,
    table,
    legDefaults: { latency: LATENCY },
    logDeviceDefaults: { latency: LATENCY },
  });
  world.scheduler.runUntilIdle();
  stack.activate();
  world.scheduler.runUntilIdle();
  const write = (fill: number) =>
    stack.device.write({ sector: 24, data: new Uint8Array(8 * 512).fill(fill) }, () => {});
  write(0x11);
  world.scheduler.runUntilIdle();
  write(0x22);
  world.scheduler.runUntil(() => world.device('leg1').inFlightWriteCount > 0);
  world.crash((device) => (device.name === 'leg1' ? 'none' : 'all'));
  expect(firstByte(world, 'leg0', 24)).toBe(0x22);
  expect(firstByte(world, 'leg1', 24)).toBe(0x11);
  return world;
}

function firstByte(world: World, leg: string, sector: number): number {
  return world.device(leg).content.read(sector, 1)[0]!;
}

/** Boots a fresh stack from `table` over the crashed devices and lets recovery finish. */
function reboot(world: World, table: string): MirrorStack {
  const stack = new MirrorStack({ world, table });
  world.scheduler.runUntilIdle();
  stack.activate();
  world.scheduler.runUntilIdle();
  return stack;
}

describe('after a crash (§5.3, §5.5)', () => {
  const DISK = '0 128 mirror disk 2 log0 8 2 leg0 0 leg1 0';

  it('§5.3 the disk log resyncs exactly the regions dirty on disk, from the default leg', () => {
    const world = crashWithLegsApart(DISK);
    const stack = reboot(world, DISK);
    expect(stack.mirror.stats.regionsRecovered).toBe(1);
    expect(firstByte(world, 'leg1', 24)).toBe(0x22);
    expect(stack.status('info')).toBe('2 leg0 leg1 16/16 1 AA 3 disk log0 A');
  });

  it('§2.5 §5.5 `nosync` ignores the dirty state on disk even after a crash: the legs stay different', () => {
    const world = crashWithLegsApart(DISK);
    const stack = reboot(world, '0 128 mirror disk 3 log0 8 nosync 2 leg0 0 leg1 0');
    expect(stack.mirror.stats.regionsRecovered).toBe(0);
    expect(firstByte(world, 'leg0', 24)).toBe(0x22);
    expect(firstByte(world, 'leg1', 24)).toBe(0x11);
  });

  it('§2.5 §5.5 `sync` forces a full resync at every activation', () => {
    const world = crashWithLegsApart(DISK);
    const stack = reboot(world, '0 128 mirror disk 3 log0 8 sync 2 leg0 0 leg1 0');
    expect(stack.mirror.stats.regionsRecovered).toBe(16);
    expect(firstByte(world, 'leg1', 24)).toBe(0x22);
  });

  it('§5.5 a core log forgets everything: every region is resynced', () => {
    const CORE = '0 128 mirror core 1 8 2 leg0 0 leg1 0';
    const world = crashWithLegsApart(CORE);
    const stack = reboot(world, CORE);
    expect(stack.mirror.stats.regionsRecovered).toBe(16);
    expect(firstByte(world, 'leg1', 24)).toBe(0x22);
  });
});
