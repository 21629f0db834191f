/**
 * Sparse resync (src/mirror/sparse-resync.ts), the mirror option beyond
 * Linux that recovers runs of regions unwritten on every leg at once: it
 * must end where the faithful resync ends (log state, log device image,
 * legs, counters), close in simulated time, with a small fraction of the
 * events, copy every region that holds data in full, and let writes that
 * arrive meanwhile land on every leg.
 */
import { describe, expect, it } from 'vitest';
import { MirrorStack } from '../../sim/mirror-stack.js';
import { World } from '../../sim/world.js';
import type { SimulatedDevice } from '../../src/block/simulated-device.js';
import { CoreLog } from '../../src/log/core-log.js';
import { SPARSE_RESYNC_CYCLES_MEASURED } from '../../src/mirror/sparse-resync.js';
import '../../src/log/builtin-logs.js';
import { LEG_LATENCY, LOG_LATENCY } from './mirror-test-kit.js';

const REGIONS = 1024;
const TABLE = `0 ${REGIONS * 64} mirror disk 2 log0 64 2 leg0 0 leg1 0`;

interface Synced {
  readonly world: World;
  readonly stack: MirrorStack;
}

/** A fresh stack activated and left to sync, optionally with a hook before activation. */
function initialSync(options: {
  readonly sparseResync: boolean;
  readonly table?: string;
  readonly before?: (stack: MirrorStack) => void;
}): Synced {
  const world = new World({ seed: 11 });
  const stack = new MirrorStack({
    world,
    table: options.table ?? TABLE,
    legDefaults: { writeCache: true, latency: LEG_LATENCY },
    logDeviceDefaults: { writeCache: true, latency: LOG_LATENCY },
    sparseResync: options.sparseResync,
  });
  options.before?.(stack);
  stack.activate();
  world.scheduler.runUntil(() => stack.mirror.inSync && stack.mirror.idle);
  world.scheduler.runUntilIdle();
  return { world, stack };
}

function content(world: World, name: string): SimulatedDevice['content'] {
  return world.devices.find((device) => device.name === name)!.content;
}

describe('sparse resync of regions unwritten on every leg', () => {
  it('ends where the faithful initial sync ends, in about the same simulated time, with far fewer events', () => {
    const faithful = initialSync({ sparseResync: false });
    const sparse = initialSync({ sparseResync: true });
    for (const { stack } of [faithful, sparse]) {
      expect(stack.status('info')).toBe(`2 leg0 leg1 ${REGIONS}/${REGIONS} 1 AA 3 disk log0 A`);
      expect(stack.mirror.stats.regionsRecovered).toBe(REGIONS);
      expect(stack.mirror.stats.sectorsResynced).toBe(REGIONS * 64);
    }
    // The log device holds the same image: header and every region clean.
    expect(content(sparse.world, 'log0').equals(content(faithful.world, 'log0'))).toBe(true);
    expect(content(sparse.world, 'leg1').equals(content(sparse.world, 'leg0'))).toBe(true);
    // The first regions are copied in full, to measure the cycle the rest are charged.
    expect(sparse.stack.mirror.kcopyd.stats.copies).toBeGreaterThan(SPARSE_RESYNC_CYCLES_MEASURED);
    expect(sparse.stack.mirror.kcopyd.stats.copies).toBeLessThan(REGIONS / 10);
    expect(sparse.world.scheduler.steps).toBeLessThan(faithful.world.scheduler.steps / 10);
    const ratio = sparse.world.scheduler.now() / faithful.world.scheduler.now();
    expect(ratio).toBeGreaterThan(0.9);
    expect(ratio).toBeLessThan(1.1);
  });

  it('is off unless asked for: the faithful resync copies every region', () => {
    const { stack } = initialSync({ sparseResync: false });
    expect(stack.mirror.kcopyd.stats.copies).toBe(REGIONS);
  });

  it('copies in full every region that holds data on some leg, so the legs end identical', () => {
    const written = [40, 41, 500, REGIONS - 1];
    const { world, stack } = initialSync({
      sparseResync: true,
      before: (built) => {
        const leg0 = built.legDevices[0]!;
        for (const region of written) {
          leg0.loadImage(imageWith(leg0, region * 64 + 3, (region % 250) + 1));
        }
      },
    });
    expect(stack.status('info')).toBe(`2 leg0 leg1 ${REGIONS}/${REGIONS} 1 AA 3 disk log0 A`);
    const leg1 = content(world, 'leg1');
    expect(leg1.equals(content(world, 'leg0'))).toBe(true);
    for (const region of written) expect(leg1.read(region * 64 + 3, 1)[0]).toBe((region % 250) + 1);
  });

  it('a core log and a sync table take runs too; a nosync table has nothing to resync', () => {
    const core = initialSync({
      sparseResync: true,
      table: `0 ${REGIONS * 64} mirror core 2 64 sync 2 leg0 0 leg1 0`,
    });
    expect(core.stack.mirror.log).toBeInstanceOf(CoreLog);
    expect(core.stack.status('info')).toBe(`2 leg0 leg1 ${REGIONS}/${REGIONS} 1 AA 1 core`);
    expect(core.stack.mirror.kcopyd.stats.copies).toBeLessThan(REGIONS / 10);
    const nosync = initialSync({
      sparseResync: true,
      table: `0 ${REGIONS * 64} mirror core 2 64 nosync 2 leg0 0 leg1 0`,
    });
    expect(nosync.stack.mirror.stats.regionsRecovered).toBe(0);
  });

  it('writes that arrive while a run holds kmirrord wait, then reach every leg', () => {
    const world = new World({ seed: 11 });
    const stack = new MirrorStack({
      world,
      table: TABLE,
      legDefaults: { writeCache: false, latency: LEG_LATENCY },
      logDeviceDefaults: { writeCache: false, latency: LOG_LATENCY },
      sparseResync: true,
    });
    stack.activate();
    // Into the middle of the sync, when the runs have started.
    world.scheduler.runUntil(() => stack.mirror.stats.regionsRecovered > REGIONS / 2);
    let done = 0;
    const data = new Uint8Array(4096).fill(0x5a);
    for (const region of [900, 1000]) {
      stack.device.write({ sector: region * 64, data }, (error) => {
        expect(error).toBeNull();
        done++;
      });
    }
    world.scheduler.runUntil(() => stack.mirror.inSync && stack.mirror.idle && done === 2);
    world.scheduler.runUntilIdle();
    for (const leg of ['leg0', 'leg1']) {
      expect(content(world, leg).read(1000 * 64, 8)).toEqual(data);
    }
    expect(content(world, 'leg1').equals(content(world, 'leg0'))).toBe(true);
  });
});

/** The device's image with one byte set at `sector`. */
function imageWith(device: SimulatedDevice, sector: number, value: number) {
  const image = device.content.cloneShared();
  const bytes = new Uint8Array(512);
  bytes[0] = value;
  image.write(sector, bytes);
  return image;
}
