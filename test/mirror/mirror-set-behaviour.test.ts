/**
 * Pins of single decisions in the mirror set that the scenario suites pass
 * through without telling apart: the initial flags, when kmirrord is woken,
 * which leg a read goes to once the default leg has failed, which writes
 * bypass the region lookup, the default-leg switch, the kernel messages, and
 * the order of presuspend. Each test names the reference section of the
 * Linux behaviour it pins.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Blocking, immediate, waitFor } from '../../src/concurrency/blocking.js';
import { Bio, type BioStatus } from '../../src/dm/bio.js';
import { EIO, EWOULDBLOCK } from '../../src/errno.js';
import type { DirtyLogContext, ResyncWork } from '../../src/log/dirty-log.js';
import {
  findDirtyLogType,
  registerDirtyLogType,
  unregisterDirtyLogType,
} from '../../src/log/registry.js';
import { DM_RAID1_READ_ERROR } from '../../src/mirror/leg.js';
import { DELAYED_WAKE_TICKS, type MirrorSet } from '../../src/mirror/mirror-set.js';
import { DM_RH_DIRTY } from '../../src/mirror/region-hash.js';
import {
  MirrorHarness,
  registerRecordingLogTypes,
  unregisterRecordingLogTypes,
} from './mirror-test-kit.js';

/** What the `test-hooked-core` log answers; reset before each harness that uses it. */
interface HookedLogConfig {
  presuspend: number;
  postsuspend: number;
  resume: number;
  /** Ticks `get_resync_work` blocks before it answers (as a userspace log's round trip). */
  resyncWorkDelayTicks: number;
  /** Called when the mirror calls the log's presuspend. */
  onPresuspend: (() => void) | null;
}

const hooked: HookedLogConfig = {
  presuspend: 0,
  postsuspend: 0,
  resume: 0,
  resyncWorkDelayTicks: 0,
  onPresuspend: null,
};

function resetHooked(): void {
  Object.assign(hooked, {
    presuspend: 0,
    postsuspend: 0,
    resume: 0,
    resyncWorkDelayTicks: 0,
    onPresuspend: null,
  });
}

const HOOKED = 'test-hooked-core';

/** A `core` log with presuspend and postsuspend, answers chosen by {@link hooked}. */
function registerHookedLogType(): void {
  registerDirtyLogType({
    name: HOOKED,
    summary: 'test only: a core log whose suspend hooks and resume answer what the test says',
    create(context: DirtyLogContext, args: readonly string[]) {
      const log = findDirtyLogType('core')!.create(context, args);
      const resume = log.resume.bind(log);
      const getResyncWork = log.getResyncWork.bind(log);
      return Object.assign(log, {
        presuspend(): Blocking<number> {
          hooked.onPresuspend?.();
          return immediate(hooked.presuspend);
        },
        postsuspend(): Blocking<number> {
          return immediate(hooked.postsuspend);
        },
        *resume(): Blocking<number> {
          const result = yield* resume();
          return hooked.resume === 0 ? result : hooked.resume;
        },
        *getResyncWork(): Blocking<ResyncWork> {
          const delay = hooked.resyncWorkDelayTicks;
          if (delay > 0) {
            yield* waitFor<void>((wake) => {
              context.scheduler.schedule(delay, 'test.resync_work', () => wake(undefined));
            });
          }
          return yield* getResyncWork();
        },
      });
    },
  });
}

beforeAll(() => {
  registerRecordingLogTypes();
  registerHookedLogType();
});
afterAll(() => {
  unregisterRecordingLogTypes();
  unregisterDirtyLogType(HOOKED);
});

const NOSYNC_2 = '0 128 mirror rec-core 2 8 nosync 2 leg0 0 leg1 0';
const NOSYNC_2_HANDLE = `${NOSYNC_2} 1 handle_errors`;
const NOSYNC_3_HANDLE = '0 128 mirror rec-core 2 8 nosync 3 leg0 0 leg1 0 leg2 0 1 handle_errors';
const SYNC_2 = '0 128 mirror rec-core 1 8 2 leg0 0 leg1 0';

/** Leg reads issued (not completions), in order. */
const LEG_READS = /^leg\d read \d+\+\d+$/;
/** Leg data writes issued (not completions, not kcopyd's copies). */
const LEG_WRITES = /^leg\d write \d+\+\d+( fua)?$/;

function messages(h: MirrorHarness): string[] {
  return h.mirror.messages.map((message) => message.text);
}

/** A write bio handed straight to the target, with its completions recorded. */
function directWrite(mirror: MirrorSet, sector: number, ended: BioStatus[]): Bio {
  const bio = new Bio('write', sector, 8, new Uint8Array(8 * 512), false, false, (done) =>
    ended.push(done.status),
  );
  expect(mirror.map(bio).kind).toBe('submitted');
  return bio;
}

describe('the mirror set at construction (§4.1)', () => {
  it('§4.2 the target type is "mirror"', () => {
    expect(new MirrorHarness({ table: NOSYNC_2 }).mirror.typeName).toBe('mirror');
  });

  it('§4.4 §4.7 ms->suspend starts clear: a write that fails before the first resume is held, not ended', () => {
    const h = new MirrorHarness({ table: NOSYNC_2_HANDLE, activate: false });
    h.sim('leg1').faults.injectNext('write', 'error');
    const ended: BioStatus[] = [];
    directWrite(h.mirror, 16, ended);
    h.settle();
    expect(ended).toEqual([]);
    expect(h.mirror.heldCount).toBe(1);
    expect(h.mirror.stats.heldBios).toBe(1);
  });

  it('§4.6 leg_failure starts clear: with handle_errors a write to a region out of sync goes to the default leg, not to the failures', () => {
    const h = new MirrorHarness({ table: `${SYNC_2} 1 handle_errors`, settle: false });
    expect(h.mirror.legFailure).toBe(false);
    const start = h.timeline.entries.length;
    const write = h.write(120, 8);
    h.runUntil(() => write.done, 'the write');
    expect(write.error).toBeNull();
    expect(h.textsSince(start, LEG_WRITES)).toEqual(['leg0 write 120+8']);
    expect(h.mirror.heldCount).toBe(0);
  });
});

describe('kmirrord and the idle state (§4.4)', () => {
  it('§4.4 idle is false while a pass is queued, while one runs, and while a recovery copy is in flight', () => {
    resetHooked();
    const h = new MirrorHarness({ table: `0 128 mirror ${HOOKED} 2 8 nosync 2 leg0 0 leg1 0` });
    expect(h.mirror.idle).toBe(true);
    hooked.resyncWorkDelayTicks = 100;
    h.write(16, 8);
    expect(h.mirror.idle, 'queued').toBe(false);
    h.runFor(1);
    expect(h.mirror.stats.kmirrordPasses, 'the pass has started').toBeGreaterThan(0);
    expect(h.mirror.idle, 'running: blocked in get_resync_work').toBe(false);
    h.settle();
    expect(h.mirror.idle).toBe(true);

    const copying = new MirrorHarness({ table: SYNC_2, settle: false });
    copying.runUntil(() => copying.mirror.kcopyd.busy > 0, 'a copy in flight');
    copying.runFor(1);
    expect(copying.mirror.kcopyd.busy).toBe(1);
    expect(copying.mirror.idle, 'a copy in flight').toBe(false);
    copying.settle();
    expect(copying.mirror.idle).toBe(true);
  });

  it('§4.4 queue_bio wakes kmirrord only when the list was empty: a write behind requeued writes waits for delayed_wake', () => {
    const h = new MirrorHarness({ table: NOSYNC_2, remoteRecovering: [2] });
    const t0 = h.world.scheduler.now();
    h.write(16, 8);
    h.runFor(1_000);
    const second = h.write(32, 8);
    h.runFor(DELAYED_WAKE_TICKS);
    expect(second.done).toBe(true);
    expect(h.timeline.timeOf('log mark 4') - t0).toBe(DELAYED_WAKE_TICKS);
    h.hooks.remoteRecovering!.clear();
    h.settle();
  });
});

describe('recovery and presuspend (§4.5 §4.7)', () => {
  it('§4.5 a resync with no write error prints no message', () => {
    const h = new MirrorHarness({ table: SYNC_2 });
    expect(h.mirror.stats.regionsRecovered).toBe(16);
    expect(h.mirror.messages).toEqual([]);
  });

  it('§3.5 §4.7 presuspend waits for recovery_in_flight to reach 0, including the reference a pass holds while it asks for resync work', () => {
    resetHooked();
    const h = new MirrorHarness({ table: `0 128 mirror ${HOOKED} 2 8 nosync 2 leg0 0 leg1 0` });
    const inFlightAtLogPresuspend: number[] = [];
    hooked.onPresuspend = () => inFlightAtLogPresuspend.push(h.mirror.rh.recoveryInFlight);
    hooked.resyncWorkDelayTicks = 100;
    h.write(16, 8);
    h.runFor(1);
    expect(h.mirror.rh.recoveryInFlight, 'the pass is in get_resync_work').toBe(2);
    h.suspend();
    expect(inFlightAtLogPresuspend).toEqual([0]);
    expect(h.device.suspended).toBe(true);
  });

  it('§4.7 failed log presuspend, postsuspend and resume each print a warning; successful ones print nothing', () => {
    resetHooked();
    const h = new MirrorHarness({ table: `0 128 mirror ${HOOKED} 2 8 nosync 2 leg0 0 leg1 0` });
    h.suspend();
    h.resume();
    expect(h.mirror.messages).toEqual([]);
    Object.assign(hooked, { presuspend: EIO, postsuspend: EIO, resume: EIO });
    h.suspend();
    h.resume();
    expect(h.mirror.messages.map((message) => `${message.level} ${message.text}`)).toEqual([
      'warning log presuspend failed',
      'warning log postsuspend failed',
      'warning log resume failed',
    ]);
  });

  it('§4.7 the noflush flag lasts until postsuspend: a write failing after it, still suspended, ends with EIO, not requeue', () => {
    const h = new MirrorHarness({ table: NOSYNC_2_HANDLE });
    h.suspend({ noflush: true });
    h.sim('leg1').faults.injectNext('write', 'error');
    const ended: BioStatus[] = [];
    directWrite(h.mirror, 16, ended);
    h.settle();
    expect(ended).toEqual(['ioerr']);
    expect(h.mirror.heldCount).toBe(0);
  });

  it('§4.4 hold_bio counts every write it holds', () => {
    const h = new MirrorHarness({ table: NOSYNC_2_HANDLE });
    for (const sector of [16, 32]) {
      h.sim('leg1').faults.injectNext('write', 'error');
      h.write(sector, 8);
      h.settle();
    }
    expect(h.mirror.heldCount).toBe(2);
    expect(h.mirror.stats.heldBios).toBe(2);
  });
});

describe('reads once the default leg has failed (§4.3)', () => {
  it('§4.3 a queued read of a CLEAN or DIRTY region is in sync: choose_mirror serves it from another leg; mirror_available asks in_sync without blocking', () => {
    const h = new MirrorHarness({ table: NOSYNC_2 });
    h.sim('leg0').faults.injectNext('read', 'error');
    let start = h.timeline.entries.length;
    const clean = h.read(64, 8);
    h.settle();
    expect(clean.error).toBeNull();
    expect(h.textsSince(start, LEG_READS)).toEqual(['leg0 read 64+8', 'leg1 read 64+8']);
    expect(h.textsSince(start, /in_sync/), 'map, mirror_available, then do_reads').toEqual([
      'log in_sync 8 noblock -> 1',
      'log in_sync 8 noblock -> 1',
      'log in_sync 8 block -> 1',
    ]);
    expect(h.mirror.legs[0]!.errorCount).toBe(1);

    h.hooks.inSync = (_region, canBlock) => (canBlock ? undefined : EWOULDBLOCK);
    h.write(16, 8);
    h.runUntil(() => h.mirror.rh.lookup(2)?.state === DM_RH_DIRTY, 'region 2 DIRTY');
    start = h.timeline.entries.length;
    const dirty = h.read(16, 8);
    h.settle();
    expect(dirty.error).toBeNull();
    expect(h.textsSince(start, LEG_READS)).toEqual(['leg1 read 16+8']);
  });

  it('§4.3 §4.6 a queued read error on the default leg is retried when the switched default is fine, though the region is not available (default_ok)', () => {
    const h = new MirrorHarness({ table: NOSYNC_2_HANDLE });
    h.hooks.inSync = (_region, canBlock) => (canBlock ? undefined : 0);
    h.sim('leg0').faults.injectNext('read', 'error');
    const start = h.timeline.entries.length;
    const read = h.read(16, 8);
    h.settle();
    expect(read.error).toBeNull();
    expect(h.textsSince(start, LEG_READS)).toEqual(['leg0 read 16+8', 'leg1 read 16+8']);
    expect(messages(h)).toEqual(['Read failure on mirror device leg0. Trying alternative device.']);
  });

  it('§4.3 a queued read that fails on the only leg it may use ends in mirror_end_io with no leg recorded', () => {
    const h = new MirrorHarness({ table: NOSYNC_2 });
    h.hooks.inSync = (region) => (region === 2 ? 0 : undefined);
    h.sim('leg0').faults.injectNext('read', 'error');
    const read = h.read(16, 8);
    h.settle();
    expect(read.error).toBe('EIO');
    expect(messages(h)).toEqual([
      'Read failure on mirror device leg0.  Failing I/O.',
      'Mirror read failed.',
    ]);
    expect(h.status('info')).toBe('2 leg0 leg1 16/16 1 RA 1 core');
  });

  it('§4.3 mirror_end_io passes NOTSUPP, readahead errors and successes up as they are and clears the recorded leg', () => {
    const h = new MirrorHarness({
      table: '0 128 mirror rec-core 2 8 nosync 3 leg0 0 leg1 0 leg2 0',
    });
    const cases: Array<[BioStatus, boolean]> = [
      ['notsupp', false],
      ['ioerr', true],
      ['ok', false],
    ];
    for (const [status, readahead] of cases) {
      const bio = new Bio('read', 16, 8, null, false, readahead, () => {});
      bio.status = status;
      bio.recordedLeg = 1;
      expect(h.mirror.endIo(bio), status).toBe('done');
      expect(bio.status, status).toBe(status);
      expect(bio.recordedLeg, status).toBe(-1);
    }
    expect(h.mirror.legs.map((leg) => leg.errorCount)).toEqual([0, 0, 0]);
    expect(h.mirror.messages).toEqual([]);
  });

  it('§4.3 "All replicated volumes dead": the error is passed up and the recorded leg cleared', () => {
    const h = new MirrorHarness({
      table: '0 128 mirror rec-core 2 8 nosync 3 leg0 0 leg1 0 leg2 0',
    });
    h.mirror.failMirror(h.mirror.legs[0]!, DM_RAID1_READ_ERROR);
    h.mirror.failMirror(h.mirror.legs[2]!, DM_RAID1_READ_ERROR);
    const bio = new Bio('read', 16, 8, null, false, false, () => {});
    bio.status = 'ioerr';
    bio.recordedLeg = 1;
    expect(h.mirror.endIo(bio)).toBe('done');
    expect(bio.status).toBe('ioerr');
    expect(bio.recordedLeg).toBe(-1);
    expect(messages(h)).toEqual([
      'Mirror read failed from leg1. Trying alternative device.',
      'All replicated volumes dead, failing I/O',
    ]);
  });
});

describe('writes that bypass the region lookup (§4.4 §4.8)', () => {
  it('§4.8 a PREFLUSH and a discard go to the sync list without a region lookup, even where region 0 is recovered remotely', () => {
    const h = new MirrorHarness({ table: NOSYNC_2, remoteRecovering: [0] });
    const start = h.timeline.entries.length;
    const flush = h.flush();
    const discard = h.discard(0, 8);
    const write = h.write(0, 8);
    h.runFor(1_000);
    expect(flush.done && discard.done).toBe(true);
    expect(write.done).toBe(false);
    expect(h.textsSince(start, /is_remote_recovering/)).toEqual([
      'log is_remote_recovering 0 -> 1',
    ]);
    h.hooks.remoteRecovering!.clear();
    h.settle();
    expect(write.error).toBeNull();
  });
});

describe('fail_mirror and the default leg (§4.6)', () => {
  /** 3 legs, handle_errors: leg 0 fails a read, so the default moves to leg 1; then every leg's errors are reset. */
  function defaultOnLeg1(): MirrorHarness {
    const h = new MirrorHarness({ table: NOSYNC_3_HANDLE });
    h.sim('leg0').faults.injectNext('read', 'error');
    h.read(64, 8);
    h.settle();
    expect(h.mirror.defaultLeg.index).toBe(1);
    // A failed user PREFLUSH clears ms->in_sync without clearing a log bit; the next pass finds
    // the set in sync again and reset_ms_flags forgets every leg's errors.
    h.sim('leg2').faults.injectNext('flush', 'error');
    h.flush();
    h.runUntil(() => !h.mirror.inSync, 'in_sync cleared');
    h.mirror.wakeupMirrord();
    h.settle();
    expect(h.mirror.inSync).toBe(true);
    expect(h.status('info')).toBe('3 leg0 leg1 leg2 16/16 1 AAA 1 core');
    expect(h.mirror.defaultLeg.index).toBe(1);
    return h;
  }

  it('§4.6 a failing default leg in sync switches to the first leg without errors, here leg 0', () => {
    const h = defaultOnLeg1();
    h.sim('leg1').faults.injectNext('read', 'error');
    const read = h.read(72, 8);
    h.settle();
    expect(read.error).toBeNull();
    expect(h.mirror.defaultLeg.index).toBe(0);
    expect(messages(h)).not.toContain('All sides of mirror have failed.');
  });

  it('§4.3 mirror_available finds leg 0 below a failed default leg 1 while out of sync, so the read is retried', () => {
    const h = defaultOnLeg1();
    h.sim('leg2').faults.injectNext('flush', 'error');
    h.flush();
    h.runUntil(() => !h.mirror.inSync, 'in_sync cleared');
    h.sim('leg1').faults.injectNext('read', 'error');
    const read = h.read(72, 8);
    h.settle();
    expect(read.error).toBeNull();
    expect(messages(h)).toContain(
      'Primary mirror (leg1) failed while out-of-sync: Reads may fail.',
    );
    expect(messages(h)).not.toContain('All replicated volumes dead, failing I/O');
  });

  it('§4.6 when every leg has failed the default stays and "All sides of mirror have failed." is a warning', () => {
    const h = new MirrorHarness({ table: NOSYNC_2_HANDLE });
    h.sim('leg0').faults.injectNext('read', 'error');
    h.read(64, 8);
    h.settle();
    expect(h.mirror.defaultLeg.index).toBe(1);
    h.sim('leg1').faults.injectNext('read', 'error');
    const read = h.read(64, 8);
    h.settle();
    expect(read.error).toBe('EIO');
    expect(h.mirror.defaultLeg.index).toBe(1);
    const warning = h.mirror.messages.find((message) => message.text.startsWith('All sides'));
    expect(warning).toMatchObject({ level: 'warning', text: 'All sides of mirror have failed.' });
  });
});

describe('the kernel message log', () => {
  it('keeps the newest 256 messages', () => {
    const h = new MirrorHarness({ table: NOSYNC_2 });
    const t0 = h.world.scheduler.now();
    for (let index = 0; index < 300; index++) {
      const bio = new Bio('read', 16, 8, null, false, false, () => {});
      bio.status = 'ioerr';
      h.mirror.endIo(bio);
      h.runFor(1);
    }
    expect(h.mirror.messages).toHaveLength(256);
    expect(h.mirror.messages[0]).toEqual({
      timeTicks: t0 + 44,
      level: 'error',
      text: 'Mirror read failed.',
    });
    expect(h.mirror.messages.at(-1)!.timeTicks).toBe(t0 + 299);
  });
});
