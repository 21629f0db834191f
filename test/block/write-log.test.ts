import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../sim/random.js';
import { DeterministicScheduler } from '../../sim/scheduler.js';
import type { BlockIoError } from '../../src/block/block-device.js';
import { SimulatedDevice } from '../../src/block/simulated-device.js';
import { SparseStore } from '../../src/block/sparse-store.js';
import {
  WRITE_LOG_END_MARK,
  WriteLog,
  type WriteLogEntry,
  WriteLogReplayer,
} from '../../src/block/write-log.js';
import { ManualScheduler } from './manual-scheduler.js';

const SECTOR = 512;

function stamp(value: number, sectors = 1): Uint8Array {
  return new Uint8Array(sectors * SECTOR).fill(value);
}

function expectOk(error: BlockIoError | null): void {
  expect(error).toBeNull();
}

function loggedDevice(writeCache = true) {
  const scheduler = new ManualScheduler();
  const leg = new SimulatedDevice({
    name: 'leg0',
    sizeSectors: 256,
    scheduler,
    random: new SeededRandom(1),
    writeCache,
    recordWrites: true,
  });
  return { leg, scheduler, log: leg.writeLog! };
}

/** `W<sector>` for writes (with `F` for FUA, `D` for discards), `flush`, `mark:<name>`. */
function describeLog(entries: readonly WriteLogEntry[]): string[] {
  return entries.map((entry) => {
    if (entry.kind === 'flush') return 'flush';
    if (entry.kind === 'mark') return `mark:${entry.name}`;
    const prefix = entry.write.kind === 'discard' ? 'D' : entry.write.fua ? 'F' : 'W';
    return `${prefix}${entry.write.sector}`;
  });
}

describe('dm-log-writes ordering', () => {
  it('§3.1 W1,W2,W3,C3,C2,Wflush,C1,Cflush is logged as W3,W2,flush; W1 waits for the next flush', () => {
    const { leg, scheduler, log } = loggedDevice();
    leg.write({ sector: 1, data: stamp(1) }, expectOk);
    leg.write({ sector: 2, data: stamp(2) }, expectOk);
    leg.write({ sector: 3, data: stamp(3) }, expectOk);
    scheduler.fire('leg0.write', 3);
    scheduler.fire('leg0.write', 2);
    leg.flush(expectOk);
    scheduler.fire('leg0.write', 1);
    expect(log.length).toBe(0);
    scheduler.fire('leg0.flush');
    expect(describeLog(log.entries)).toEqual(['W3', 'W2', 'flush']);
    leg.flush(expectOk);
    scheduler.fire('leg0.flush');
    expect(describeLog(log.entries)).toEqual(['W3', 'W2', 'flush', 'W1', 'flush']);
  });

  it('§3.1 a FUA write is logged when it completes, ahead of earlier unflushed writes', () => {
    const { leg, scheduler, log } = loggedDevice();
    leg.write({ sector: 1, data: stamp(1) }, expectOk);
    scheduler.fireAll();
    leg.write({ sector: 2, data: stamp(2), fua: true }, expectOk);
    expect(log.length).toBe(0);
    scheduler.fireAll();
    expect(describeLog(log.entries)).toEqual(['F2']);
    leg.flush(expectOk);
    scheduler.fireAll();
    expect(describeLog(log.entries)).toEqual(['F2', 'W1', 'flush']);
  });

  it('§3.1 discards are ordered like writes', () => {
    const { leg, scheduler, log } = loggedDevice();
    leg.write({ sector: 4, data: stamp(1) }, expectOk);
    leg.discard({ sector: 5, sectorCount: 3 }, expectOk);
    scheduler.fire('leg0.discard', 5);
    scheduler.fire('leg0.write', 4);
    leg.flush(expectOk);
    scheduler.fireAll();
    expect(describeLog(log.entries)).toEqual(['D5', 'W4', 'flush']);
  });

  it('logs the same way with the write cache off', () => {
    const { leg, scheduler, log } = loggedDevice(false);
    leg.write({ sector: 1, data: stamp(1) }, expectOk);
    scheduler.fireAll();
    expect(log.length).toBe(0);
    leg.flush(expectOk);
    scheduler.fireAll();
    expect(describeLog(log.entries)).toEqual(['W1', 'flush']);
  });

  it('a failed flush logs nothing and its writes wait for the next flush', () => {
    const { leg, scheduler, log } = loggedDevice();
    leg.write({ sector: 1, data: stamp(1) }, expectOk);
    scheduler.fireAll();
    leg.faults.injectNext('flush', 'error');
    leg.flush(() => {});
    leg.write({ sector: 2, data: stamp(2) }, expectOk);
    scheduler.fire('leg0.write', 2);
    scheduler.fire('leg0.flush');
    expect(log.length).toBe(0);
    leg.flush(expectOk);
    scheduler.fireAll();
    expect(describeLog(log.entries)).toEqual(['W1', 'W2', 'flush']);
  });

  it('failed, dropped and crashed writes are never logged', () => {
    const { leg, scheduler, log } = loggedDevice();
    leg.faults.injectNext('write', 'error');
    leg.write({ sector: 1, data: stamp(1) }, () => {});
    leg.faults.injectNext('write', 'drop');
    leg.write({ sector: 2, data: stamp(2) }, expectOk);
    leg.write({ sector: 3, data: stamp(3) }, expectOk);
    scheduler.fireAll();
    leg.crash('none');
    leg.flush(expectOk);
    scheduler.fireAll();
    expect(describeLog(log.entries)).toEqual(['flush']);
  });

  it('keeps its own copy of each write, whatever the caller does to its buffer', () => {
    const { leg, scheduler, log } = loggedDevice(false);
    const buffer = stamp(7);
    leg.write({ sector: 0, data: buffer, fua: true }, expectOk);
    scheduler.fireAll();
    buffer.fill(0);
    const replayer = new WriteLogReplayer(log, new SparseStore(256));
    replayer.replayTo(log.length);
    expect(replayer.target.read(0, 1)).toEqual(stamp(7));
  });
});

describe('WriteLog marks and search', () => {
  it('inserts named marks and finds them from a position', () => {
    const log = new WriteLog();
    log.mark('mkfs');
    log.appendFlush();
    log.mark('mkfs');
    log.mark(WRITE_LOG_END_MARK);
    expect(log.findMark('mkfs')).toBe(0);
    expect(log.findMark('mkfs', 1)).toBe(2);
    expect(log.findMark('mkfs', 3)).toBe(-1);
    expect(log.findMark(WRITE_LOG_END_MARK)).toBe(3);
    expect(WRITE_LOG_END_MARK).toBe('dm-log-writes-end');
    expect(() => log.mark('')).toThrow(RangeError);
    expect(log.length).toBe(4);
  });

  it('finds the next flush and the next FUA write', () => {
    const { leg, scheduler, log } = loggedDevice();
    leg.write({ sector: 1, data: stamp(1) }, expectOk);
    scheduler.fireAll();
    leg.flush(expectOk);
    scheduler.fireAll();
    leg.write({ sector: 2, data: stamp(2), fua: true }, expectOk);
    scheduler.fireAll();
    expect(describeLog(log.entries)).toEqual(['W1', 'flush', 'F2']);
    expect(log.findNext('flush')).toBe(1);
    expect(log.findNext('flush', 2)).toBe(-1);
    expect(log.findNext('fua')).toBe(2);
  });
});

describe('WriteLogReplayer (xfstests replay-log)', () => {
  /** A log: mark start, W0=1, flush, F1=2 (FUA), W0=3, mark two, W2=4, flush. */
  function sampleLog() {
    const { leg, scheduler, log } = loggedDevice();
    log.mark('start');
    leg.write({ sector: 0, data: stamp(1) }, expectOk);
    scheduler.fireAll();
    leg.flush(expectOk);
    scheduler.fireAll();
    leg.write({ sector: 1, data: stamp(2), fua: true }, expectOk);
    scheduler.fireAll();
    leg.write({ sector: 0, data: stamp(3) }, expectOk);
    scheduler.fireAll();
    log.mark('two');
    leg.write({ sector: 2, data: stamp(4) }, expectOk);
    scheduler.fireAll();
    leg.flush(expectOk);
    scheduler.fireAll();
    expect(describeLog(log.entries)).toEqual([
      'mark:start',
      'W0',
      'flush',
      'F1',
      'mark:two',
      'W0',
      'W2',
      'flush',
    ]);
    return { leg, log };
  }

  const sectors = (store: SparseStore) => [0, 1, 2].map((sector) => store.read(sector, 1)[0]);

  it('replays up to entry N (--limit) into a fresh store', () => {
    const { log } = sampleLog();
    const expectations: Array<[number, number[]]> = [
      [0, [0, 0, 0]],
      [2, [1, 0, 0]],
      [4, [1, 2, 0]],
      [6, [3, 2, 0]],
      [8, [3, 2, 4]],
    ];
    for (const [limit, expected] of expectations) {
      const replayer = new WriteLogReplayer(log, new SparseStore(256));
      replayer.replayTo(limit);
      expect(replayer.position).toBe(limit);
      expect(sectors(replayer.target), `limit ${limit}`).toEqual(expected);
    }
  });

  it('replays through a mark, and refuses an absent one', () => {
    const { log } = sampleLog();
    const replayer = new WriteLogReplayer(log, new SparseStore(256));
    replayer.replayToMark('two');
    expect(replayer.position).toBe(5);
    expect(sectors(replayer.target)).toEqual([1, 2, 0]);
    expect(() => replayer.replayToMark('start')).toThrow(/No write-log mark "start" after entry 5/);
  });

  it('replays flush by flush and FUA by FUA', () => {
    const { leg, log } = sampleLog();
    const byFlush = new WriteLogReplayer(log, new SparseStore(256));
    expect(byFlush.replayToNext('flush')).toBe(true);
    expect(sectors(byFlush.target)).toEqual([1, 0, 0]);
    expect(byFlush.replayToNext('flush')).toBe(true);
    expect(sectors(byFlush.target)).toEqual([3, 2, 4]);
    expect(byFlush.done).toBe(true);
    expect(byFlush.replayToNext('flush')).toBe(false);
    // The whole log reproduces the device.
    expect(byFlush.target.equals(leg.content)).toBe(true);

    const byFua = new WriteLogReplayer(log, new SparseStore(256));
    expect(byFua.replayToNext('fua')).toBe(true);
    expect(byFua.position).toBe(4);
    expect(sectors(byFua.target)).toEqual([1, 2, 0]);
    expect(byFua.replayToNext('fua')).toBe(false);
    expect(byFua.position).toBe(4);
  });

  it('replays one entry at a time and refuses to go back or past the end', () => {
    const { log } = sampleLog();
    const replayer = new WriteLogReplayer(log, new SparseStore(256));
    expect(replayer.replayNext()).toEqual({ kind: 'mark', name: 'start' });
    expect(replayer.replayNext()?.kind).toBe('write');
    expect(() => replayer.replayTo(1)).toThrow(/Cannot replay to entry 1: expected 2\.\.8/);
    expect(() => replayer.replayTo(9)).toThrow(RangeError);
    expect(() => replayer.replayTo(2.5)).toThrow(RangeError);
    replayer.replayTo(8);
    expect(replayer.replayNext()).toBeUndefined();
  });

  it('replaying a whole log ending in a flush rebuilds the device content (no FUA)', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(
          fc.oneof(
            fc.record({
              kind: fc.constant('write' as const),
              sector: fc.nat(60),
              count: fc.integer({ min: 1, max: 4 }),
            }),
            fc.record({
              kind: fc.constant('discard' as const),
              sector: fc.nat(60),
              count: fc.integer({ min: 1, max: 4 }),
            }),
            fc.record({ kind: fc.constant('flush' as const) }),
            fc.record({ kind: fc.constant('advance' as const), ticks: fc.nat(50) }),
          ),
          { maxLength: 40 },
        ),
        (seed, operations) => {
          const scheduler = new DeterministicScheduler();
          const leg = new SimulatedDevice({
            name: 'leg0',
            sizeSectors: 64,
            scheduler,
            random: new SeededRandom(seed),
            writeCache: true,
            recordWrites: true,
            latency: {
              write: { kind: 'exponential', minimumTicks: 0, meanTicks: 30 },
              flush: { kind: 'exponential', minimumTicks: 0, meanTicks: 30 },
            },
          });
          operations.forEach((operation, index) => {
            if (operation.kind === 'write') {
              leg.write(
                { sector: operation.sector, data: stamp(index + 1, operation.count) },
                expectOk,
              );
            } else if (operation.kind === 'discard') {
              leg.discard({ sector: operation.sector, sectorCount: operation.count }, expectOk);
            } else if (operation.kind === 'flush') {
              leg.flush(expectOk);
            } else {
              scheduler.runFor(operation.ticks);
            }
          });
          scheduler.runUntilIdle();
          leg.flush(expectOk);
          scheduler.runUntilIdle();
          const replayer = new WriteLogReplayer(leg.writeLog!, new SparseStore(64));
          replayer.replayTo(leg.writeLog!.length);
          expect(replayer.target.equals(leg.content)).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });
});
