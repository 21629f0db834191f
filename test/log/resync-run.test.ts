/**
 * The log's run-at-once resync calls (src/log/resync-run.ts), which sparse
 * resync uses: they must leave exactly the state the kernel's calls one by
 * one leave — `get_resync_work` for each region of the run, then
 * `clear_region` and `set_region_sync(…, 1)` for each (§2.3) — and a big
 * disk log's writes that name their changed sectors must leave the log
 * device exactly as whole-buffer writes do (§2.4).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type {
  BlockDevice,
  CompletionCallback,
  DiscardRequest,
  ReadCallback,
  ReadRequest,
  SparseReadCallback,
  SparseWriteRequest,
  WriteRequest,
} from '../../src/block/block-device.js';
import type { LogContext } from '../../src/log/_internals/log-context.js';
import type { LeBitset } from '../../src/log/bitset.js';
import { coreLogType } from '../../src/log/core-log.js';
import {
  CHANGED_SECTORS_BUFFER_BYTES_MIN,
  type DiskLog,
  diskLogType,
} from '../../src/log/disk-log.js';
import { logBufferSizeBytes } from '../../src/log/disk-log-format.js';
import { resyncRunLogOf } from '../../src/log/resync-run.js';
import { LogHarness, run } from './log-test-kit.js';

const REGION_SIZE = 8;

/**
 * The log device, seen through a wrapper that records whether each write
 * named its changed sectors, and passes the hint on (`keep`) or drops it,
 * so every write copies the whole buffer (the faithful twin).
 */
class HintWatcher implements BlockDevice {
  readonly seen: boolean[] = [];
  readonly name: string;
  readonly sizeSectors: number;
  readonly logicalBlockSizeBytes: number;

  constructor(
    private readonly inner: BlockDevice,
    private readonly keep: boolean,
  ) {
    this.name = inner.name;
    this.sizeSectors = inner.sizeSectors;
    this.logicalBlockSizeBytes = inner.logicalBlockSizeBytes;
  }

  read(request: ReadRequest, callback: ReadCallback): void {
    this.inner.read(request, callback);
  }

  readSparse(request: ReadRequest, callback: SparseReadCallback): void {
    this.inner.readSparse(request, callback);
  }

  write(request: WriteRequest, callback: CompletionCallback): void {
    this.seen.push(request.changed !== undefined);
    const { changed, ...whole } = request;
    this.inner.write(this.keep ? request : whole, callback);
  }

  writeSparse(request: SparseWriteRequest, callback: CompletionCallback): void {
    this.inner.writeSparse(request, callback);
  }

  discard(request: DiscardRequest, callback: CompletionCallback): void {
    this.inner.discard(request, callback);
  }

  flush(callback: CompletionCallback): void {
    this.inner.flush(callback);
  }
}

/** A log's whole state, as far as resync touches it. */
function snapshot(log: LogContext) {
  const bits = (test: (region: number) => boolean) =>
    Array.from({ length: log.regionCount }, (_, region) => (test(region) ? 1 : 0)).join('');
  return {
    clean: bits((region) => log.isCleanBit(region)),
    sync: bits((region) => log.isSyncBit(region)),
    recovering: bits((region) => log.isRecoveringBit(region)),
    syncSearch: log.syncSearchPosition,
    touched: [log.touchedCleaned, log.touchedDirtied],
  };
}

function coreLog(harness: LogHarness, regions: number): LogContext {
  return coreLogType.create({ ...harness.context, targetLengthSectors: regions * REGION_SIZE }, [
    String(REGION_SIZE),
  ]) as LogContext;
}

describe('resync runs leave the state of the kernel’s calls one by one (§2.3)', () => {
  it('for any mix of regions in sync and recovering, and any run end', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('out', 'in', 'recovering'), { minLength: 1, maxLength: 80 }),
        fc.nat(),
        (states, endSeed) => {
          const regions = states.length;
          const [byRun, oneByOne] = [0, 1].map(() => {
            const harness = new LogHarness();
            const log = coreLog(harness, regions);
            run(harness.world, log.resume());
            // Bring each region to its state: in sync through recovery, recovering by being handed out.
            for (let region = 0; region < regions; region++) {
              if (states[region] === 'in') run(harness.world, log.setRegionSync(region, true));
            }
            // Recovering: handed out by an earlier get_resync_work (white-box, as after a resume).
            const inside = log as unknown as { recoveringBits: LeBitset };
            for (let region = 0; region < regions; region++) {
              if (states[region] === 'recovering') inside.recoveringBits.set(region);
            }
            return { harness, log };
          });
          const runLog = resyncRunLogOf(byRun!.log)!;
          const first = runLog.peekResyncWork();
          const expected = run(oneByOne!.harness.world, oneByOne!.log.getResyncWork());
          if (first < 0) {
            expect(expected.result).toBe(0);
            return;
          }
          expect(expected).toEqual({ result: 1, region: first });
          const end = first + 1 + (endSeed % (regions - first));
          const count = runLog.takeResyncRun(first, end);
          // One by one: get_resync_work while it hands out the next region below end.
          const handed = [first];
          for (;;) {
            const peek = (oneByOne!.log as unknown as LogContext).peekResyncWork();
            if (peek !== handed.at(-1)! + 1 || peek >= end) break;
            handed.push(run(oneByOne!.harness.world, oneByOne!.log.getResyncWork()).region);
          }
          expect(count).toBe(handed.length);
          runLog.completeResyncRun(first, count);
          for (const region of handed) {
            oneByOne!.log.clearRegion(region);
            run(oneByOne!.harness.world, oneByOne!.log.setRegionSync(region, true));
          }
          expect(snapshot(byRun!.log)).toEqual(snapshot(oneByOne!.log));
          expect(run(byRun!.harness.world, byRun!.log.getSyncCount())).toBe(
            run(oneByOne!.harness.world, oneByOne!.log.getSyncCount()),
          );
          byRun!.log.checkInvariants();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses a run that does not start at the next resync work, or covers a region in sync', () => {
    const harness = new LogHarness();
    const log = coreLog(harness, 16);
    run(harness.world, log.resume());
    run(harness.world, log.setRegionSync(0, true));
    const runLog = resyncRunLogOf(log)!;
    expect(runLog.peekResyncWork()).toBe(1);
    expect(() => runLog.takeResyncRun(2, 5)).toThrow('resync run from 2, not the next resync work');
    expect(() => runLog.completeResyncRun(0, 2)).toThrow(
      'resync run [0, 2) was not all handed out by get_resync_work',
    );
    expect(runLog.takeResyncRun(1, 16)).toBe(15);
    expect(runLog.peekResyncWork()).toBe(-1);
  });
});

describe('a big disk log names its changed sectors; the log device ends the same (§2.4)', () => {
  it('marks, clears, runs and flushes leave the device as whole-buffer writes would', () => {
    // The smallest region count whose buffer takes changed-sector writes.
    const regions = (CHANGED_SECTORS_BUFFER_BYTES_MIN - 1024) * 8;
    const bufferBytes = logBufferSizeBytes(regions, 512);
    expect(bufferBytes).toBeGreaterThanOrEqual(CHANGED_SECTORS_BUFFER_BYTES_MIN);
    const sizes = { targetLengthSectors: regions * REGION_SIZE, logSizeSectors: bufferBytes / 512 };
    const images = [true, false].map((named) => {
      const harness = new LogHarness({ ...sizes, writeCache: true });
      const device = new HintWatcher(harness.device, named);
      const context = { ...harness.context, getDevice: () => device };
      const log = diskLogType.create(context, ['log0', String(REGION_SIZE)]) as LogContext;
      run(harness.world, log.resume());
      for (const region of [3, 5, regions - 1]) log.markRegion(region);
      run(harness.world, log.flush());
      const runLog = resyncRunLogOf(log)!;
      const count = runLog.takeResyncRun(runLog.peekResyncWork(), 70_000);
      runLog.completeResyncRun(0, count);
      log.clearRegion(5);
      run(harness.world, log.flush());
      run(harness.world, (log as unknown as DiskLog).postsuspend());
      return {
        content: harness.device.content,
        durable: harness.device.durableContent,
        seen: device.seen,
      };
    });
    // The resume writes everything; the flushes name what changed.
    expect(images[0]!.seen).toEqual([false, true, true]);
    expect(images[1]!.seen).toEqual(images[0]!.seen);
    expect(images[0]!.content.equals(images[1]!.content)).toBe(true);
    expect(images[0]!.durable.equals(images[1]!.durable)).toBe(true);
  });
});
