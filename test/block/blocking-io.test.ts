import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../sim/random.js';
import { DeterministicScheduler } from '../../sim/scheduler.js';
import { BlockIoError } from '../../src/block/block-device.js';
import { flushBlocking, readBlocking, writeBlocking } from '../../src/block/blocking-io.js';
import { SimulatedDevice } from '../../src/block/simulated-device.js';
import { type Blocking, spawn } from '../../src/concurrency/blocking.js';

function setup() {
  const scheduler = new DeterministicScheduler();
  const leg = new SimulatedDevice({
    name: 'log',
    sizeSectors: 64,
    scheduler,
    random: new SeededRandom(1),
    writeCache: true,
    latency: {
      read: { kind: 'fixed', ticks: 5 },
      write: { kind: 'fixed', ticks: 10 },
      flush: { kind: 'fixed', ticks: 20 },
    },
  });
  return { scheduler, leg };
}

describe('blocking block I/O', () => {
  it('writes, flushes and reads back in order, each waiting for its completion', () => {
    const { scheduler, leg } = setup();
    const times: number[] = [];
    function* task(): Blocking<Uint8Array | null> {
      const writeError = yield* writeBlocking(leg, {
        sector: 2,
        data: new Uint8Array(512).fill(7),
      });
      times.push(scheduler.now());
      const flushError = yield* flushBlocking(leg);
      times.push(scheduler.now());
      expect(writeError).toBeNull();
      expect(flushError).toBeNull();
      const { error, data } = yield* readBlocking(leg, { sector: 2, sectorCount: 1 });
      times.push(scheduler.now());
      expect(error).toBeNull();
      return data;
    }
    let result: Uint8Array | null | undefined;
    spawn(task(), (value) => {
      result = value;
    });
    scheduler.runUntilIdle();
    expect(times).toEqual([10, 30, 35]);
    expect(result).toEqual(new Uint8Array(512).fill(7));
    // The flush waited for the write, so the write is durable.
    expect(leg.durableContent.read(2, 1)).toEqual(new Uint8Array(512).fill(7));
  });

  it('returns I/O errors as values', () => {
    const { scheduler, leg } = setup();
    leg.faults.fail();
    const errors: Array<BlockIoError | null> = [];
    function* task(): Blocking<void> {
      errors.push(yield* writeBlocking(leg, { sector: 0, data: new Uint8Array(512) }));
      errors.push(yield* flushBlocking(leg));
      const read = yield* readBlocking(leg, { sector: 0, sectorCount: 1 });
      expect(read.data).toBeNull();
      errors.push(read.error);
    }
    spawn(task(), () => {});
    scheduler.runUntilIdle();
    expect(errors.map((error) => error instanceof BlockIoError && error.errno)).toEqual([
      'EIO',
      'EIO',
      'EIO',
    ]);
  });
});
