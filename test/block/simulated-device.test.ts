import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../sim/random.js';
import { DeterministicScheduler } from '../../sim/scheduler.js';
import { InvariantError } from '../../src/assert.js';
import { BlockIoError } from '../../src/block/block-device.js';
import { SimulatedDevice, type SimulatedDeviceOptions } from '../../src/block/simulated-device.js';
import { SparseStore } from '../../src/block/sparse-store.js';
import { ManualScheduler } from './manual-scheduler.js';

const SECTOR = 512;

/** One sector whose every byte says which write (1..255) it came from. */
function stamp(writeId: number, sectors = 1): Uint8Array {
  return new Uint8Array(sectors * SECTOR).fill(writeId);
}

const ZEROS = new Uint8Array(SECTOR);

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function manualDevice(options: Partial<SimulatedDeviceOptions> = {}): {
  leg: SimulatedDevice;
  scheduler: ManualScheduler;
} {
  const scheduler = new ManualScheduler();
  const leg = new SimulatedDevice({
    name: 'leg0',
    sizeSectors: 256,
    scheduler,
    random: new SeededRandom(7),
    ...options,
  });
  return { leg, scheduler };
}

function expectOk(error: BlockIoError | null): void {
  expect(error).toBeNull();
}

describe('SimulatedDevice requests', () => {
  it('completes every request through the scheduler, never inside the call', () => {
    const scheduler = new DeterministicScheduler();
    const leg = new SimulatedDevice({
      name: 'leg0',
      sizeSectors: 64,
      scheduler,
      random: new SeededRandom(1),
    });
    let completed = 0;
    leg.write({ sector: 0, data: stamp(1) }, () => completed++);
    leg.read({ sector: 0, sectorCount: 1 }, () => completed++);
    leg.flush(() => completed++);
    leg.discard({ sector: 1, sectorCount: 1 }, () => completed++);
    leg.readSparse({ sector: 0, sectorCount: 1 }, () => completed++);
    leg.writeSparse({ sector: 2, sectorCount: 1, extents: [] }, () => completed++);
    expect(completed).toBe(0);
    expect(scheduler.pendingCount).toBe(6);
    scheduler.runUntilIdle();
    expect(completed).toBe(6);
  });

  it('reads what was written; unwritten sectors read as zeros', () => {
    const { leg, scheduler } = manualDevice();
    leg.write({ sector: 10, data: stamp(3, 2) }, expectOk);
    scheduler.fireAll();
    let read: Uint8Array | null = null;
    leg.read({ sector: 9, sectorCount: 4 }, (error, data) => {
      expectOk(error);
      read = data;
    });
    scheduler.fireAll();
    const expected = new Uint8Array(4 * SECTOR);
    expected.fill(3, SECTOR, 3 * SECTOR);
    expect(read).toEqual(expected);
  });

  it('a write is not visible to reads until it completes', () => {
    const { leg, scheduler } = manualDevice();
    leg.write({ sector: 0, data: stamp(1) }, expectOk);
    leg.read({ sector: 0, sectorCount: 1 }, (_, data) => expect(data).toEqual(ZEROS));
    expect(leg.inFlightWriteCount).toBe(1);
    scheduler.fire('leg0.read');
    scheduler.fire('leg0.write');
    expect(leg.inFlightWriteCount).toBe(0);
    expect(leg.content.read(0, 1)).toEqual(stamp(1));
  });

  it('reads sparsely and writes sparsely: extents hold data, the rest reads as zeros', () => {
    const { leg, scheduler } = manualDevice();
    leg.write({ sector: 0, data: stamp(9, 32) }, expectOk);
    scheduler.fireAll();
    leg.writeSparse(
      { sector: 8, sectorCount: 16, extents: [{ sectorOffset: 3, data: stamp(4, 2) }] },
      expectOk,
    );
    scheduler.fireAll();
    expect(leg.content.read(8, 3)).toEqual(new Uint8Array(3 * SECTOR));
    expect(leg.content.read(11, 2)).toEqual(stamp(4, 2));
    expect(leg.content.read(13, 11)).toEqual(new Uint8Array(11 * SECTOR));
    expect(leg.content.read(24, 8)).toEqual(stamp(9, 8));
    let extents: Array<{ sectorOffset: number; data: Uint8Array }> | null = null;
    leg.readSparse({ sector: 4, sectorCount: 24 }, (error, result) => {
      expectOk(error);
      extents = result;
    });
    scheduler.fireAll();
    const rebuilt = new Uint8Array(24 * SECTOR);
    for (const extent of extents!) rebuilt.set(extent.data, extent.sectorOffset * SECTOR);
    expect(rebuilt).toEqual(leg.content.read(4, 24));
  });

  it('discarded sectors read as zeros', () => {
    const { leg, scheduler } = manualDevice();
    leg.write({ sector: 0, data: stamp(5, 16) }, expectOk);
    scheduler.fireAll();
    leg.discard({ sector: 3, sectorCount: 10 }, expectOk);
    scheduler.fireAll();
    expect(leg.content.read(0, 3)).toEqual(stamp(5, 3));
    expect(leg.content.read(3, 10)).toEqual(new Uint8Array(10 * SECTOR));
    expect(leg.content.read(13, 3)).toEqual(stamp(5, 3));
  });

  it('counts requests and sectors in its stats', () => {
    const { leg, scheduler } = manualDevice();
    leg.write({ sector: 0, data: stamp(1, 4), fua: true }, expectOk);
    leg.write({ sector: 8, data: stamp(1, 2) }, expectOk);
    leg.read({ sector: 0, sectorCount: 3 }, expectOk);
    leg.discard({ sector: 0, sectorCount: 5 }, expectOk);
    leg.flush(expectOk);
    scheduler.fireAll();
    expect(leg.stats).toEqual({
      reads: 1,
      writes: 2,
      fuaWrites: 1,
      flushes: 1,
      discards: 1,
      sectorsRead: 3,
      sectorsWritten: 11,
      errors: 0,
      droppedWrites: 0,
    });
  });

  it('serves a 1 PiB device at both ends with memory for the data only', () => {
    const scheduler = new DeterministicScheduler();
    const big = new SimulatedDevice({
      name: 'big',
      sizeSectors: 2 ** 41,
      scheduler,
      random: new SeededRandom(1),
      writeCache: true,
    });
    big.write({ sector: 2 ** 41 - 8, data: stamp(1, 8), fua: true }, expectOk);
    big.write({ sector: 0, data: stamp(2) }, expectOk);
    scheduler.runUntilIdle();
    big.flush(expectOk);
    scheduler.runUntilIdle();
    expect(big.content.read(2 ** 41 - 8, 8)).toEqual(stamp(1, 8));
    expect(big.durableContent.read(0, 1)).toEqual(stamp(2));
    expect(big.content.allocatedBytes).toBe(2 * 4096);
  });

  it('does not depend on the caller keeping its buffer after completion (cache on)', () => {
    const { leg, scheduler } = manualDevice({ writeCache: true });
    const buffer = stamp(1);
    leg.write({ sector: 0, data: buffer }, expectOk);
    scheduler.fireAll();
    buffer.fill(0xee);
    leg.crash('all');
    expect(leg.content.read(0, 1)).toEqual(stamp(1));
  });

  it('does not depend on the caller keeping its extent buffers after completion (cache on)', () => {
    const { leg, scheduler } = manualDevice({ writeCache: true });
    const buffer = stamp(1, 2);
    leg.writeSparse(
      { sector: 0, sectorCount: 4, extents: [{ sectorOffset: 1, data: buffer }] },
      expectOk,
    );
    scheduler.fireAll();
    buffer.fill(0xee);
    leg.crash('all');
    expect(leg.content.read(1, 2)).toEqual(stamp(1, 2));
    expect(leg.content.read(0, 1)).toEqual(ZEROS);
  });
});

describe('SimulatedDevice write cache', () => {
  it('with the cache off, a completed write is durable at once', () => {
    const { leg, scheduler } = manualDevice({ writeCache: false });
    leg.write({ sector: 0, data: stamp(1) }, expectOk);
    expect(leg.nonDurableWriteCount).toBe(1);
    scheduler.fireAll();
    expect(leg.nonDurableWriteCount).toBe(0);
    expect(leg.durableContent.read(0, 1)).toEqual(stamp(1));
    leg.crash('none');
    expect(leg.content.read(0, 1)).toEqual(stamp(1));
  });

  it('with the cache on, a completed but unflushed write is visible but not durable', () => {
    const { leg, scheduler } = manualDevice({ writeCache: true });
    leg.write({ sector: 0, data: stamp(1) }, expectOk);
    scheduler.fireAll();
    expect(leg.content.read(0, 1)).toEqual(stamp(1));
    expect(leg.durableContent.read(0, 1)).toEqual(ZEROS);
    expect(leg.nonDurableWriteCount).toBe(1);
    leg.crash('none');
    expect(leg.content.read(0, 1)).toEqual(ZEROS);
  });

  it('a FUA write is durable when it completes, not before', () => {
    const { leg, scheduler } = manualDevice({ writeCache: true });
    leg.write({ sector: 0, data: stamp(1), fua: true }, expectOk);
    expect(leg.durableContent.read(0, 1)).toEqual(ZEROS);
    scheduler.fireAll();
    expect(leg.durableContent.read(0, 1)).toEqual(stamp(1));
    expect(leg.nonDurableWriteCount).toBe(0);
    leg.crash('none');
    expect(leg.content.read(0, 1)).toEqual(stamp(1));
  });

  it('a flush covers writes completed before it was issued, not those completed after', () => {
    const { leg, scheduler } = manualDevice({ writeCache: true });
    leg.write({ sector: 0, data: stamp(1) }, expectOk);
    leg.write({ sector: 1, data: stamp(2) }, expectOk);
    scheduler.fire('leg0.write', 0);
    leg.flush(expectOk);
    // W2 completes after the flush was issued but before it completes.
    scheduler.fire('leg0.write', 1);
    scheduler.fire('leg0.flush');
    expect(leg.durableContent.read(0, 1)).toEqual(stamp(1));
    expect(leg.durableContent.read(1, 1)).toEqual(ZEROS);
    expect(leg.nonDurableWriteCount).toBe(1);
    leg.crash('none');
    expect(leg.content.read(0, 2)).toEqual(concat([stamp(1), ZEROS]));
  });

  it('a later flush covers what an earlier one did not', () => {
    const { leg, scheduler } = manualDevice({ writeCache: true });
    leg.write({ sector: 0, data: stamp(1) }, expectOk);
    leg.flush(expectOk);
    scheduler.fire('leg0.write');
    scheduler.fire('leg0.flush');
    expect(leg.durableContent.read(0, 1)).toEqual(ZEROS);
    leg.flush(expectOk);
    scheduler.fire('leg0.flush');
    expect(leg.durableContent.read(0, 1)).toEqual(stamp(1));
  });

  it('a flush that fails makes nothing durable', () => {
    const { leg, scheduler } = manualDevice({ writeCache: true });
    leg.write({ sector: 0, data: stamp(1) }, expectOk);
    scheduler.fireAll();
    leg.faults.injectNext('flush', 'error');
    let failure: BlockIoError | null = null;
    leg.flush((error) => {
      failure = error;
    });
    scheduler.fireAll();
    expect(failure).toBeInstanceOf(BlockIoError);
    expect(leg.durableContent.read(0, 1)).toEqual(ZEROS);
    leg.flush(expectOk);
    scheduler.fireAll();
    expect(leg.durableContent.read(0, 1)).toEqual(stamp(1));
  });

  it('flushes that complete out of order each cover what completed before they were issued', () => {
    const { leg, scheduler } = manualDevice({ writeCache: true });
    leg.write({ sector: 0, data: stamp(1) }, expectOk);
    leg.write({ sector: 1, data: stamp(2) }, expectOk);
    scheduler.fire('leg0.write', 0);
    leg.flush(expectOk); // F1 covers W1.
    scheduler.fire('leg0.write', 1);
    leg.flush(expectOk); // F2 covers W1 and W2.
    leg.write({ sector: 2, data: stamp(3) }, expectOk);
    scheduler.fire('leg0.write', 2);
    // F2 completes first.
    const flushes = scheduler.pending.filter((label) => label.startsWith('leg0.flush'));
    expect(flushes.length).toBe(2);
    scheduler.fireAll();
    expect(leg.durableContent.read(0, 3)).toEqual(concat([stamp(1), stamp(2), ZEROS]));
  });

  it('the newest durable write wins over an older overlapping one, whatever the crash keeps', () => {
    for (const strategy of ['none', 'all', 'random', 'prefix', 'torn'] as const) {
      const { leg, scheduler } = manualDevice({ writeCache: true });
      leg.write({ sector: 0, data: stamp(1, 4) }, expectOk);
      scheduler.fireAll();
      // A FUA write issued after W1 completed replaces two of its sectors durably.
      leg.write({ sector: 1, data: stamp(2, 2), fua: true }, expectOk);
      scheduler.fireAll();
      leg.crash(strategy);
      expect(leg.content.read(1, 2), strategy).toEqual(stamp(2, 2));
      for (const sector of [0, 3]) {
        const value = leg.content.read(sector, 1);
        expect([0, 1].includes(value[0]!), strategy).toBe(true);
        expect(value.every((byte) => byte === value[0])).toBe(true);
      }
    }
  });

  it('a cached write that was superseded by FUA stays superseded after a later flush', () => {
    const { leg, scheduler } = manualDevice({ writeCache: true });
    leg.write({ sector: 0, data: stamp(1, 2) }, expectOk);
    scheduler.fireAll();
    leg.write({ sector: 1, data: stamp(2), fua: true }, expectOk);
    scheduler.fireAll();
    leg.flush(expectOk);
    scheduler.fireAll();
    expect(leg.durableContent.read(0, 2)).toEqual(concat([stamp(1), stamp(2)]));
    expect(leg.content.read(0, 2)).toEqual(concat([stamp(1), stamp(2)]));
    expect(leg.nonDurableWriteCount).toBe(0);
  });

  it('a discard with the cache on is durable only after a flush', () => {
    const { leg, scheduler } = manualDevice({ writeCache: true });
    leg.write({ sector: 0, data: stamp(1, 8), fua: true }, expectOk);
    scheduler.fireAll();
    leg.discard({ sector: 0, sectorCount: 8 }, expectOk);
    scheduler.fireAll();
    expect(leg.content.read(0, 8)).toEqual(new Uint8Array(8 * SECTOR));
    expect(leg.durableContent.read(0, 8)).toEqual(stamp(1, 8));
    leg.flush(expectOk);
    scheduler.fireAll();
    expect(leg.durableContent.read(0, 8)).toEqual(new Uint8Array(8 * SECTOR));
  });
});

describe('SimulatedDevice crash', () => {
  it('lists crash candidates as cached writes by completion, then in-flight writes by issue', () => {
    const { leg, scheduler } = manualDevice({ writeCache: true });
    for (let sector = 0; sector < 4; sector++)
      leg.write({ sector, data: stamp(sector + 1) }, expectOk);
    scheduler.fire('leg0.write', 2);
    scheduler.fire('leg0.write', 1);
    expect(leg.crashCandidates().map((write) => write.sector)).toEqual([2, 1, 0, 3]);
    expect(leg.crashCandidates().map((write) => write.issueSequence)).toEqual([2, 1, 0, 3]);
  });

  it('requests in flight at a crash never complete; the device works afterwards', () => {
    const scheduler = new DeterministicScheduler();
    const leg = new SimulatedDevice({
      name: 'leg0',
      sizeSectors: 64,
      scheduler,
      random: new SeededRandom(1),
      latency: { write: { kind: 'fixed', ticks: 10 } },
    });
    let completions = 0;
    leg.write({ sector: 0, data: stamp(1) }, () => completions++);
    leg.read({ sector: 0, sectorCount: 1 }, () => completions++);
    leg.flush(() => completions++);
    // Only the device crashes; its scheduled completions are still queued.
    const report = leg.crash('none');
    expect(report).toMatchObject({
      deviceName: 'leg0',
      strategy: 'none',
      candidateWrites: 1,
      keptWrites: 0,
    });
    scheduler.runUntilIdle();
    expect(completions).toBe(0);
    expect(leg.content.read(0, 1)).toEqual(ZEROS);
    leg.write({ sector: 0, data: stamp(2) }, () => completions++);
    scheduler.runUntilIdle();
    expect(completions).toBe(1);
    expect(leg.content.read(0, 1)).toEqual(stamp(2));
  });

  it('keeps in-flight writes with the cache off when the strategy keeps them', () => {
    const { leg } = manualDevice({ writeCache: false });
    leg.write({ sector: 0, data: stamp(1) }, expectOk);
    leg.crash('all');
    expect(leg.content.read(0, 1)).toEqual(stamp(1));
    expect(leg.durableContent.read(0, 1)).toEqual(stamp(1));
    expect(leg.nonDurableWriteCount).toBe(0);
  });

  it('records the crash in the trace', () => {
    const { leg, scheduler } = manualDevice({ writeCache: true });
    leg.write({ sector: 0, data: stamp(1) }, expectOk);
    leg.crash('all');
    expect(scheduler.traces).toEqual([{ label: 'leg0.crash', detail: 1 }]);
  });

  it('after a crash the surviving image is durable, and the cache starts empty', () => {
    const { leg, scheduler } = manualDevice({ writeCache: true });
    leg.write({ sector: 0, data: stamp(1) }, expectOk);
    scheduler.fireAll();
    leg.crash('all');
    expect(leg.durableContent.read(0, 1)).toEqual(stamp(1));
    expect(leg.nonDurableWriteCount).toBe(0);
    leg.write({ sector: 0, data: stamp(2) }, expectOk);
    scheduler.fireAll();
    leg.crash('none');
    expect(leg.content.read(0, 1)).toEqual(stamp(1));
  });

  it('gives the same state id for the same seed and history', () => {
    const run = (seed: number): string => {
      const scheduler = new ManualScheduler();
      const leg = new SimulatedDevice({
        name: 'leg0',
        sizeSectors: 64,
        scheduler,
        random: new SeededRandom(seed),
        writeCache: true,
      });
      for (let sector = 0; sector < 16; sector++)
        leg.write({ sector, data: stamp(sector + 1) }, expectOk);
      return leg.crash('random').stateId;
    };
    expect(run(1)).toBe(run(1));
    expect(new Set([1, 2, 3, 4, 5].map(run)).size).toBeGreaterThan(1);
  });
});

describe('SimulatedDevice loadImage', () => {
  it('replaces the content with a durable copy of an image', () => {
    const { leg, scheduler } = manualDevice({ writeCache: true });
    const image = new SparseStore(256);
    image.write(5, stamp(9));
    leg.loadImage(image);
    image.write(5, stamp(8));
    expect(leg.content.read(5, 1)).toEqual(stamp(9));
    expect(leg.durableContent.read(5, 1)).toEqual(stamp(9));
    leg.write({ sector: 5, data: stamp(1) }, expectOk);
    scheduler.fireAll();
    leg.crash('none');
    expect(leg.content.read(5, 1)).toEqual(stamp(9));
  });

  it('refuses an image of another size or while writes are in flight', () => {
    const { leg } = manualDevice();
    expect(() => leg.loadImage(new SparseStore(128))).toThrow(InvariantError);
    leg.write({ sector: 0, data: stamp(1) }, expectOk);
    expect(() => leg.loadImage(new SparseStore(256))).toThrow(/in flight/);
  });
});
