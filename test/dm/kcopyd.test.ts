import { describe, expect, it } from 'vitest';
import { World } from '../../sim/world.js';
import { InvariantError } from '../../src/assert.js';
import { fixedLatency } from '../../src/block/latency.js';
import type { SimulatedDevice } from '../../src/block/simulated-device.js';
import { DM_KCOPYD_MAX_REGIONS, KcopydClient, STALE_PAGE_BYTE } from '../../src/dm/kcopyd.js';

interface Setup {
  readonly world: World;
  readonly source: SimulatedDevice;
  readonly destinations: SimulatedDevice[];
}

/** A source with data in sectors 8..11 (byte 7) and `count` empty destinations. */
function setup(count = 2): Setup {
  const world = new World({ seed: 1 });
  const latency = { read: fixedLatency(10), write: fixedLatency(20), flush: fixedLatency(0) };
  const source = world.createDevice({ name: 'src', sizeSectors: 64, latency });
  source.write({ sector: 8, data: new Uint8Array(4 * 512).fill(7) }, () => {});
  world.scheduler.runUntilIdle();
  const destinations = Array.from({ length: count }, (_, index) =>
    world.createDevice({ name: `dst${index}`, sizeSectors: 64, latency }),
  );
  return { world, source, destinations };
}

function copy(
  made: Setup,
  client: KcopydClient,
  options: { ignoreError?: boolean } = {},
): {
  result: [boolean, number] | null /** Ticks from the copy to its callback. */;
  timeTicks: number;
} {
  const outcome = { result: null as [boolean, number] | null, timeTicks: -1 };
  const startTicks = made.world.scheduler.now();
  client.copy(
    { device: made.source, sector: 0, sectorCount: 16 },
    made.destinations.map((device) => ({ device, sector: 16, sectorCount: 16 })),
    { ignoreError: options.ignoreError === true },
    (readError, writeErrorBits) => {
      outcome.result = [readError, writeErrorBits];
      outcome.timeTicks = made.world.scheduler.now() - startTicks;
    },
  );
  return outcome;
}

function firstBytes(device: SimulatedDevice, sector: number, count: number): number[] {
  const data = device.content.read(sector, count);
  return Array.from({ length: count }, (_, index) => data[index * 512]!);
}

describe('kcopyd (§4.5)', () => {
  it('§4.5 copies the source range to every destination, replacing each destination range whole', () => {
    const made = setup(3);
    made.destinations[0]!.write({ sector: 16, data: new Uint8Array(512).fill(9) }, () => {});
    made.world.scheduler.runUntilIdle();
    const client = new KcopydClient(made.world.scheduler);
    const outcome = copy(made, client);
    expect(client.busy).toBe(1);
    made.world.scheduler.runUntilIdle();
    expect(outcome.result).toEqual([false, 0]);
    expect(outcome.timeTicks).toBe(30);
    expect(client.busy).toBe(0);
    for (const device of made.destinations) {
      expect(firstBytes(device, 16, 16)).toEqual(firstBytes(made.source, 0, 16));
    }
    expect(client.stats).toEqual({ copies: 1, sectorsCopied: 16 });
  });

  it('§4.5 a read error without IGNORE_ERROR ends the job at once: nothing is written', () => {
    const made = setup();
    made.source.faults.injectNext('read', 'error');
    const outcome = copy(made, new KcopydClient(made.world.scheduler));
    made.world.scheduler.runUntilIdle();
    expect(outcome.result).toEqual([true, 0]);
    expect(made.destinations[0]!.stats.writes).toBe(0);
  });

  it('§4.5 a read error with IGNORE_ERROR still writes every destination, with stale page contents', () => {
    const made = setup();
    made.source.faults.injectNext('read', 'error');
    const outcome = copy(made, new KcopydClient(made.world.scheduler), { ignoreError: true });
    made.world.scheduler.runUntilIdle();
    expect(outcome.result).toEqual([true, 0]);
    for (const device of made.destinations) {
      expect(firstBytes(device, 16, 16)).toEqual(new Array(16).fill(STALE_PAGE_BYTE));
    }
  });

  it('§4.5 write errors are reported as a bitmask indexed by destination', () => {
    const made = setup(3);
    made.destinations[2]!.faults.injectNext('write', 'error');
    const outcome = copy(made, new KcopydClient(made.world.scheduler));
    made.world.scheduler.runUntilIdle();
    expect(outcome.result).toEqual([false, 0b100]);
    expect(firstBytes(made.destinations[0]!, 24, 1)).toEqual([7]);
  });

  it('§4.5 raid1_resync_throttle p % holds a completion back busy·(100 − p)/p ticks', () => {
    for (const [percent, expected] of [
      [100, 30],
      [50, 60],
      [25, 120],
      [10, 300],
    ] as const) {
      const made = setup();
      const outcome = copy(made, new KcopydClient(made.world.scheduler, percent));
      made.world.scheduler.runUntilIdle();
      expect(outcome.timeTicks, `${percent} %`).toBe(expected);
    }
  });

  it('§4.5 the throttle is an integer percentage from 1 to 100', () => {
    const world = new World({ seed: 1 });
    for (const bad of [0, 101, 1.5, Number.NaN]) {
      expect(() => new KcopydClient(world.scheduler, bad)).toThrow(RangeError);
    }
    expect(() => new KcopydClient(world.scheduler, 1)).not.toThrow();
  });

  it('§4.1 §7 at most DM_KCOPYD_MAX_REGIONS = 8 destinations, each the size of the source', () => {
    expect(DM_KCOPYD_MAX_REGIONS).toBe(8);
    const made = setup(9);
    const client = new KcopydClient(made.world.scheduler);
    expect(() => copy(made, client)).toThrow(InvariantError);
    expect(() =>
      client.copy(
        { device: made.source, sector: 0, sectorCount: 16 },
        [{ device: made.destinations[0]!, sector: 0, sectorCount: 8 }],
        { ignoreError: false },
        () => {},
      ),
    ).toThrow(/size differs/);
  });
});
