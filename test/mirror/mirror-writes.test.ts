import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedLatency } from '../../src/block/latency.js';
import { spawn } from '../../src/concurrency/blocking.js';
import {
  LEG_LATENCY,
  MirrorHarness,
  registerRecordingLogTypes,
  unregisterRecordingLogTypes,
} from './mirror-test-kit.js';

beforeAll(registerRecordingLogTypes);
afterAll(unregisterRecordingLogTypes);

/** 16 regions of 8 sectors, every region in sync from the start. */
const CORE_NOSYNC = '0 128 mirror rec-core 2 8 nosync 2 leg0 0 leg1 0';
/** 16 regions of 8 sectors, every region out of sync until recovered. */
const CORE_SYNC = '0 128 mirror rec-core 1 8 2 leg0 0 leg1 0';
const DISK = '0 128 mirror rec-disk 2 log0 8 2 leg0 0 leg1 0';

/** What matters for write ordering: log marks, clears and flushes, device I/O, user completions. */
const ORDER = /^(log (mark|clear|flush)|log0 |leg\d (write|flush|discard)|user )/;

/** The clean bit of `region` in a disk log image (1024 bytes in, little-endian bit order). */
function cleanBitOnDisk(
  image: { read(sector: number, count: number): Uint8Array },
  region: number,
) {
  const byte = image.read(2, 1)[region >> 3]!;
  return (byte >> (region & 7)) & 1;
}

describe('the write path (§4.4)', () => {
  it('§4.4 do_writes marks, flushes the log, then writes every leg; the clear follows lazily (§2.4)', () => {
    const h = new MirrorHarness({ table: DISK });
    const start = h.timeline.entries.length;
    const write = h.write(16, 8);
    h.settle();
    expect(write.error).toBeNull();
    expect(h.textsSince(start, ORDER)).toEqual([
      'user write 16+8',
      // update_states: nothing to clear or write.
      'log flush',
      'log flush -> 0',
      // do_writes: mark, the log flush (whole buffer, then a log-device flush), then all legs.
      'log mark 2',
      'log flush',
      'log0 write 0+3',
      'log0 write 0+3 done',
      'log0 flush',
      'log0 flush done',
      'log flush -> 0',
      'leg0 write 16+8',
      'leg1 write 16+8',
      'leg0 write 16+8 done',
      'leg1 write 16+8 done',
      'user write 16+8 done',
      // The next pass clears the region: legs flushed first, the log rewritten, no log-device flush.
      'log clear 2',
      'log flush',
      'leg0 flush',
      'leg1 flush',
      'leg0 flush done',
      'leg1 flush done',
      'log0 write 0+3',
      'log0 write 0+3 done',
      'log flush -> 0',
    ]);
  });

  it('§4.4 a write is acknowledged only once every leg has completed it', () => {
    const h = new MirrorHarness({
      table: CORE_NOSYNC,
      deviceLatency: { leg1: { ...LEG_LATENCY, write: fixedLatency(500) } },
    });
    const write = h.write(16, 8);
    h.settle();
    expect(write.timeTicks).toBe(h.timeline.timeOf('leg1 write 16+8 done'));
    expect(write.timeTicks - h.timeline.timeOf('leg0 write 16+8 done')).toBe(480);
  });

  it('§4.4 §5.1 only CLEAN→DIRTY marks: a second write to a DIRTY region is not marked and the log is not rewritten', () => {
    const h = new MirrorHarness({ table: DISK });
    h.write(16, 4);
    h.runUntil(
      () => h.timeline.indexOf('leg0 write 16+4') >= 0,
      'the first write reached the legs',
    );
    const second = h.timeline.entries.length;
    h.write(20, 4);
    h.runUntil(
      () => h.timeline.indexOf('leg0 write 20+4') >= 0,
      'the second write reached the legs',
    );
    expect(h.textsSince(second, ORDER)).toEqual([
      'user write 20+4',
      'log flush',
      'log flush -> 0',
      'log flush',
      'log flush -> 0',
      'leg0 write 20+4',
      'leg1 write 20+4',
    ]);
    h.settle();
    expect(h.timeline.texts(/^log mark/)).toEqual(['log mark 2']);
  });

  it('§4.1 §4.4 a request crossing a region boundary is split: each piece maps to one region and is marked alone', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC });
    const start = h.timeline.entries.length;
    const write = h.write(4, 16);
    h.settle();
    expect(write.error).toBeNull();
    expect(h.textsSince(start, /^(log mark|leg0 write \d+\+\d+$)/)).toEqual([
      'log mark 0',
      'log mark 1',
      'log mark 2',
      'leg0 write 4+4',
      'leg0 write 8+8',
      'leg0 write 16+4',
    ]);
    expect(h.legBytes('leg1', 4, 16)).toEqual(new Array(16).fill(0xab));
  });

  it('§4.4 a write to a NOSYNC region goes to the default leg only; recovery copies it later', () => {
    const h = new MirrorHarness({ table: CORE_SYNC, settle: false });
    const write = h.write(56, 8, { fill: 0x5a });
    h.runUntil(() => write.done, 'the write completed');
    expect(write.error).toBeNull();
    expect(h.timeline.texts(/^leg\d write 56/)).toEqual([
      'leg0 write 56+8',
      'leg0 write 56+8 done',
    ]);
    expect(h.timeline.texts(/^log mark/), 'a NOSYNC region is not marked').toEqual([]);
    expect(h.legBytes('leg1', 56, 1)).toEqual([0]);
    h.settle();
    expect(h.timeline.texts(/copy-write 56/)).toEqual([
      'leg1 copy-write 56+8',
      'leg1 copy-write 56+8 done',
    ]);
    expect(h.legBytes('leg1', 56, 8)).toEqual(new Array(8).fill(0x5a));
  });

  it('§4.4 a write to a RECOVERING region waits for its recovery to end, then goes the normal way', () => {
    const h = new MirrorHarness({ table: CORE_SYNC, settle: false });
    const write = h.write(0, 8);
    h.settle();
    expect(write.error).toBeNull();
    const texts = h.timeline.texts(/^(log (mark|set_region_sync) 0|leg\d (copy-)?write 0\+8)/);
    expect(texts).toEqual([
      'leg1 copy-write 0+8',
      'leg1 copy-write 0+8 done',
      'log set_region_sync 0 1',
      'log mark 0',
      'leg0 write 0+8',
      'leg1 write 0+8',
      'leg0 write 0+8 done',
      'leg1 write 0+8 done',
    ]);
  });

  it('§4.4 step 6: end_io decrements the region for sync and nosync writes alike', () => {
    const h = new MirrorHarness({ table: CORE_SYNC, settle: false });
    const nosync = h.write(120, 8);
    h.runUntil(() => nosync.done, 'the nosync write completed');
    expect(h.mirror.rh.lookup(15)?.pending).toBe(0);
    h.settle();
    const sync = h.write(8, 8);
    h.runUntil(() => sync.done, 'the sync write completed');
    expect(h.mirror.rh.lookup(1)?.pending).toBe(0);
    h.mirror.checkInvariants();
  });
});

describe('PREFLUSH, FUA and discard (§4.8)', () => {
  it('§4.8 a PREFLUSH goes to every leg after the log flush of its pass, marking and counting nothing', () => {
    const h = new MirrorHarness({ table: DISK });
    const start = h.timeline.entries.length;
    const write = h.write(16, 8);
    const flush = h.flush();
    h.runUntil(() => flush.done && write.done, 'both completed');
    expect(flush.error).toBeNull();
    const order = h.textsSince(
      start,
      /^(log (mark|flush -> )|leg\d (write|flush)$|leg\d write 16\+8$)/,
    );
    // (The mirror_flush of the lazy clear that follows is left out.)
    expect(order.slice(0, 7)).toEqual([
      'log flush -> 0',
      'log mark 2',
      'log flush -> 0',
      'leg0 write 16+8',
      'leg1 write 16+8',
      'leg0 flush',
      'leg1 flush',
    ]);
    h.settle();
    // A lone PREFLUSH creates no region entry and marks nothing while it is in flight.
    const lone = h.flush();
    h.runUntil(
      () => h.timeline.entries.at(-1)?.text === 'leg1 flush',
      'the flush reached the legs',
    );
    expect(h.mirror.rh.size).toBe(0);
    h.settle();
    expect(lone.error).toBeNull();
    expect(h.timeline.texts(/^log mark/)).toEqual(['log mark 2']);
  });

  it('§4.8 FUA is kept on the write to every leg', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC });
    const write = h.write(16, 8, { fua: true });
    h.settle();
    expect(write.error).toBeNull();
    expect(h.timeline.texts(/^leg\d write 16\+8 fua$/)).toEqual([
      'leg0 write 16+8 fua',
      'leg1 write 16+8 fua',
    ]);
  });

  it('§4.8 a discard goes to every leg and is not region-tracked', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC });
    h.write(16, 8);
    h.settle();
    const start = h.timeline.entries.length;
    const discard = h.discard(16, 8);
    h.runUntil(() => h.timeline.indexOf('leg1 discard 16+8') >= 0, 'the discard reached the legs');
    expect(h.mirror.rh.size, 'no region entry for a discard').toBe(0);
    h.settle();
    expect(discard.error).toBeNull();
    expect(h.textsSince(start, /^(log mark|leg\d discard \d+\+\d+$)/)).toEqual([
      'leg0 discard 16+8',
      'leg1 discard 16+8',
    ]);
    expect(h.legBytes('leg1', 16, 8)).toEqual(new Array(8).fill(0));
  });

  it('§4.8 a discard that fails on a leg returns EOPNOTSUPP and does not degrade the array', () => {
    const h = new MirrorHarness({
      table: '0 128 mirror rec-core 2 8 nosync 2 leg0 0 leg1 0 1 handle_errors',
    });
    h.sim('leg1').faults.injectNext('discard', 'error');
    const discard = h.discard(16, 8);
    h.settle();
    expect(discard.error).toBe('EOPNOTSUPP');
    expect(h.mirror.legFailure).toBe(false);
    expect(h.mirror.heldCount).toBe(0);
    expect(h.events).toEqual(['mirror in sync']);
    expect(h.status('info')).toBe('2 leg0 leg1 16/16 1 AA 1 core');
  });

  it('§4.8 a user PREFLUSH failing on a leg is a write error and sets the sticky flush_failure', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC });
    h.sim('leg1').faults.injectNext('flush', 'error');
    const flush = h.flush();
    h.settle();
    expect(flush.error, 'without handle_errors the flush is acknowledged').toBeNull();
    expect(h.mirror.rh.flushFailure).toBe(true);
    expect(h.status('info')).toBe('2 leg0 leg1 16/16 1 AD 1 core');
    // A write drained after the failure leaves its region NOSYNC in the hash (the log still says in sync).
    h.write(16, 8, { fill: 1 });
    h.settle();
    expect(h.mirror.rh.lookup(2)?.state).toBe(4);
    expect(h.status('info')).toContain('16/16');
    // So the next write to it reaches the default leg only: the legs now differ there.
    const start = h.timeline.entries.length;
    h.write(16, 8, { fill: 2 });
    h.settle();
    expect(h.textsSince(start, /^leg\d write 16\+8$/)).toEqual(['leg0 write 16+8']);
    expect(h.legBytes('leg0', 16, 1)).toEqual([2]);
    expect(h.legBytes('leg1', 16, 1)).toEqual([1]);
  });
  it('§3.3 §4.8 Linux quirk: after a PREFLUSH failure a region handed to recovery with writes pending drains to NOSYNC instead of quiescing, so recovery stalls and a suspend never completes', () => {
    const h = new MirrorHarness({
      table: CORE_SYNC,
      settle: false,
      deviceLatency: { leg0: { ...LEG_LATENCY, write: fixedLatency(1000) } },
    });
    h.sim('leg1').faults.injectNext('flush', 'error');
    h.flush();
    // A write to region 3, still NOSYNC: it goes to leg 0 alone and stays pending for 1000 ticks.
    const write = h.write(24, 8);
    h.runUntil(() => h.mirror.rh.lookup(3)?.state === 8, 'region 3 handed to recovery');
    expect(h.mirror.rh.flushFailure).toBe(true);
    expect(h.mirror.rh.lookup(3)!.pending).toBe(1);
    h.settle();
    expect(write.error).toBeNull();
    expect(h.mirror.rh.lookup(3)!.state, 'NOSYNC, never quiesced').toBe(4);
    expect(h.mirror.rh.recoveryInFlight).toBe(1);
    expect(h.status('info'), 'no region after 3 is ever recovered').toMatch(/ 3\/16 /);
    let suspended = false;
    spawn(h.device.suspend(), () => {
      suspended = true;
    });
    h.settle();
    expect(suspended, 'dm_rh_stop_recovery waits forever for the orphaned slot').toBe(false);
  });
});

describe('write-ahead marking (§5.1, §5.2)', () => {
  it('§5.1 §9(a) no data write reaches a leg of an in-sync region while its clean bit on the log device is durable 1; §9(b) no clean bit is written while the region has writes pending', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            region: fc.integer({ min: 0, max: 15 }),
            gapTicks: fc.integer({ min: 0, max: 80 }),
            fua: fc.boolean(),
          }),
          { minLength: 1, maxLength: 25 },
        ),
        (writes) => {
          const h = new MirrorHarness({ table: DISK, writeCache: true });
          const log = h.sim('log0');
          let checked = 0;
          h.timeline.onRecord = (entry) => {
            const leg = /^leg\d write (\d+)\+\d+( fua)?$/.exec(entry.text);
            if (leg !== null) {
              const region = Math.floor(Number(leg[1]) / 8);
              expect(cleanBitOnDisk(log.durableContent, region), `region ${region}`).toBe(0);
              checked++;
            }
            if (/^log0 write .* done$/.test(entry.text)) {
              for (const region of h.mirror.rh.entries()) {
                if (region.pending > 0) expect(cleanBitOnDisk(log.content, region.key)).toBe(0);
              }
            }
          };
          for (const write of writes) {
            h.write(write.region * 8 + (write.region % 4), 4, { fua: write.fua });
            h.runFor(write.gapTicks);
          }
          h.settle();
          h.timeline.onRecord = null;
          expect(checked).toBeGreaterThanOrEqual(writes.length * 2);
          // Everything drained: every region is clean in memory and, after the lazy clear, on disk.
          for (let region = 0; region < 16; region++) {
            expect(cleanBitOnDisk(log.content, region)).toBe(1);
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
