import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runTask } from '../../sim/run-task.js';
import { World } from '../../sim/world.js';
import { InvariantError } from '../../src/assert.js';
import { type Blocking, immediate, spawn } from '../../src/concurrency/blocking.js';
import type { Bio, BioOperation } from '../../src/dm/bio.js';
import { EIO, EWOULDBLOCK } from '../../src/errno.js';
import type { CoreLog } from '../../src/log/core-log.js';
import '../../src/log/builtin-logs.js';
import { createDirtyLog } from '../../src/log/registry.js';
import {
  DM_RH_CLEAN,
  DM_RH_DIRTY,
  DM_RH_NOSYNC,
  DM_RH_RECOVERING,
  RegionHash,
  regionStateName,
} from '../../src/mirror/region-hash.js';
import { RecordingLog, type RecordingLogHooks, regionBio, Timeline } from './mirror-test-kit.js';

const REGION_SECTORS = 8;
const REGIONS = 16;

interface Setup {
  readonly world: World;
  readonly timeline: Timeline;
  readonly hooks: RecordingLogHooks;
  readonly core: CoreLog;
  readonly log: RecordingLog;
  readonly rh: RegionHash;
  readonly dispatched: Bio[];
  wakeups: number;
}

/** A region hash over a recording core log; `nosync` starts every region in sync. */
function setup(
  options: { sync?: 'nosync' | 'default'; maxRecovery?: number; regions?: number } = {},
): Setup {
  const world = new World({ seed: 1 });
  const timeline = new Timeline(() => world.scheduler.now());
  const regions = options.regions ?? REGIONS;
  const args = [String(REGION_SECTORS)];
  if ((options.sync ?? 'nosync') === 'nosync') args.push('nosync');
  const core = createDirtyLog(
    'core',
    {
      scheduler: world.scheduler,
      targetLengthSectors: regions * REGION_SECTORS,
      flushCallback: null,
      getDevice: () => {
        throw new TypeError('the core log opens no device');
      },
      raiseEvent: () => {},
    },
    args,
  ) as CoreLog;
  const hooks: RecordingLogHooks = { flushResults: [], remoteRecovering: null };
  const log = new RecordingLog(core, timeline, hooks);
  const made: Setup = {
    world,
    timeline,
    hooks,
    core,
    log,
    dispatched: [],
    wakeups: 0,
    rh: undefined as unknown as RegionHash,
  };
  const rh = new RegionHash({
    log,
    scheduler: world.scheduler,
    regionSizeSectors: REGION_SECTORS,
    regionCount: regions,
    maxRecovery: options.maxRecovery ?? 1,
    dispatchBios: (bios) => {
      timeline.record(`dispatch ${bios.length}`);
      made.dispatched.push(...bios);
    },
    wakeupWorkers: () => {
      made.wakeups++;
    },
    wakeupAllRecoveryWaiters: () => timeline.record('wake recovery waiters'),
  });
  (made as { rh: RegionHash }).rh = rh;
  return made;
}

function run<T>(made: Setup, task: Blocking<T>): T {
  return runTask(made.world.scheduler, task);
}

/** A bio for `region` as `mirror_map` leaves it. */
function bio(region: number, operation: BioOperation = 'write'): Bio {
  return regionBio(region, REGION_SECTORS, operation);
}

/** Log calls other than in_sync, in order. */
function logCalls(made: Setup): string[] {
  return made.timeline.texts(/^(log (?!in_sync)|dispatch|wake)/);
}

/** Makes the log hand out resync work and the region hash quiesce it (after start_recovery). */
function prepareRecovery(made: Setup): void {
  made.rh.startRecovery();
  run(made, made.rh.recoveryPrepare());
}

describe('region hash geometry', () => {
  it('§3.1 a region is the target-relative sector shifted by the region size, and back', () => {
    const { rh } = setup();
    expect(rh.sectorToRegion(0)).toBe(0);
    expect(rh.sectorToRegion(7)).toBe(0);
    expect(rh.sectorToRegion(8)).toBe(1);
    expect(rh.sectorToRegion(127)).toBe(15);
    expect(rh.regionToSector(15)).toBe(120);
  });

  it('§3.1 the region size must be a power of two of at least 2 sectors', () => {
    const made = setup();
    const base = {
      log: made.log,
      scheduler: made.world.scheduler,
      regionCount: 4,
      maxRecovery: 1,
      dispatchBios: () => {},
      wakeupWorkers: () => {},
      wakeupAllRecoveryWaiters: () => {},
    };
    expect(() => new RegionHash({ ...base, regionSizeSectors: 12 })).toThrow(InvariantError);
    expect(() => new RegionHash({ ...base, regionSizeSectors: 1 })).toThrow(InvariantError);
    expect(new RegionHash({ ...base, regionSizeSectors: 2 }).regionSizeSectors).toBe(2);
  });

  it('§3.1 there is no cap on the number of regions tracked at once', () => {
    const made = setup({ regions: 4096 });
    for (let region = 0; region < 4096; region++) run(made, made.rh.inc(region));
    expect(made.rh.size).toBe(4096);
    made.rh.checkInvariants();
  });

  it('§3.1 the recovery semaphore starts at 0: no resync work is asked for before start_recovery', () => {
    const made = setup({ sync: 'default' });
    run(made, made.rh.recoveryPrepare());
    expect(logCalls(made)).toEqual(['wake recovery waiters']);
    expect(made.rh.size).toBe(0);
    expect(made.rh.recoveryStart()).toBeUndefined();
    made.rh.startRecovery();
    run(made, made.rh.recoveryPrepare());
    expect(made.timeline.texts(/get_resync_work/)).toEqual(['log get_resync_work -> region 0']);
    expect(made.rh.lookup(0)?.state).toBe(DM_RH_RECOVERING);
  });
});

describe('region states', () => {
  it('§3.2 dm_rh_get_state asks the log for a region not in the hash: exactly 1 is CLEAN, anything else NOSYNC', () => {
    const made = setup();
    const answers = new Map([
      [0, 1],
      [1, 0],
      [2, EWOULDBLOCK],
      [3, EIO],
      [4, 2],
    ]);
    made.hooks.inSync = (region) => answers.get(region);
    const states = [0, 1, 2, 3, 4].map((region) => run(made, made.rh.getState(region, false)));
    expect(states).toEqual([DM_RH_CLEAN, DM_RH_NOSYNC, DM_RH_NOSYNC, DM_RH_NOSYNC, DM_RH_NOSYNC]);
    expect(made.timeline.texts(/in_sync/)[0]).toBe('log in_sync 0 noblock -> 1');
    expect(made.rh.size, 'a lookup allocates nothing').toBe(0);
  });

  it('§3.2 dm_rh_get_state answers from the hash for a region it holds, without asking the log', () => {
    const made = setup();
    run(made, made.rh.inc(5));
    made.timeline.clear();
    expect(run(made, made.rh.getState(5, true))).toBe(DM_RH_DIRTY);
    expect(made.timeline.texts()).toEqual([]);
  });

  it('§3.2 __rh_alloc takes the state from in_sync(can_block=1) tested for truth: an error counts as CLEAN', () => {
    const made = setup();
    made.hooks.inSync = (region) => (region === 1 ? 0 : region === 2 ? EIO : undefined);
    const clean = run(made, made.rh.find(0));
    const nosync = run(made, made.rh.find(1));
    const erring = run(made, made.rh.find(2));
    expect(made.timeline.texts(/in_sync/)).toEqual([
      'log in_sync 0 block -> 1',
      'log in_sync 1 block -> 0',
      `log in_sync 2 block -> ${EIO}`,
    ]);
    expect([clean.state, nosync.state, erring.state]).toEqual([
      DM_RH_CLEAN,
      DM_RH_NOSYNC,
      DM_RH_CLEAN,
    ]);
    expect(clean.list?.name, 'a new CLEAN region is on the clean list at once').toBe('clean');
    expect(nosync.list).toBeNull();
    made.rh.checkInvariants();
  });

  it('§3.2 an allocated CLEAN region nobody writes is cleared and freed by the next update_states', () => {
    const made = setup();
    run(made, made.rh.find(3));
    made.timeline.clear();
    run(made, made.rh.updateStates(false));
    expect(logCalls(made)).toEqual(['log clear 3', 'log flush', 'log flush -> 0']);
    expect(made.rh.lookup(3)).toBeUndefined();
  });
});

describe('transitions (§3.3)', () => {
  it('§3.3 rh_inc on a CLEAN region counts it pending, makes it DIRTY, takes it off the clean list and marks it once', () => {
    const made = setup();
    run(made, made.rh.find(2));
    run(made, made.rh.inc(2));
    const region = made.rh.lookup(2)!;
    expect(region.state).toBe(DM_RH_DIRTY);
    expect(region.pending).toBe(1);
    expect(region.list).toBeNull();
    expect(made.core.isCleanBit(2)).toBe(false);
    run(made, made.rh.inc(2));
    expect(region.pending).toBe(2);
    expect(made.timeline.texts(/mark/)).toEqual(['log mark 2']);
  });

  it('§3.3 rh_inc on NOSYNC and RECOVERING regions only counts: the log is not marked', () => {
    const made = setup({ sync: 'default' });
    run(made, made.rh.inc(4));
    expect(made.rh.lookup(4)!.state).toBe(DM_RH_NOSYNC);
    prepareRecovery(made);
    expect(made.rh.lookup(0)!.state).toBe(DM_RH_RECOVERING);
    run(made, made.rh.inc(0));
    expect(made.rh.lookup(0)!.pending).toBe(1);
    expect(made.rh.lookup(4)!.pending).toBe(1);
    expect(made.timeline.texts(/mark/)).toEqual([]);
  });

  it('§3.3 dm_rh_inc_pending counts every bio except PREFLUSH and discard bios', () => {
    const made = setup();
    run(made, made.rh.incPending([bio(1), bio(1), bio(2, 'flush'), bio(3, 'discard'), bio(4)]));
    expect(made.rh.lookup(1)!.pending).toBe(2);
    expect(made.rh.lookup(4)!.pending).toBe(1);
    expect(made.rh.lookup(3)).toBeUndefined();
    expect(made.timeline.texts(/mark/)).toEqual(['log mark 1', 'log mark 4']);
  });

  it('§3.3 dm_rh_dec to 0 makes a DIRTY region CLEAN on the clean list and wakes kmirrord; above 0 it does neither', () => {
    const made = setup();
    run(made, made.rh.inc(6));
    run(made, made.rh.inc(6));
    made.rh.dec(6);
    expect(made.wakeups).toBe(0);
    expect(made.rh.lookup(6)!.state).toBe(DM_RH_DIRTY);
    made.rh.dec(6);
    expect(made.wakeups).toBe(1);
    const region = made.rh.lookup(6)!;
    expect(region.state).toBe(DM_RH_CLEAN);
    expect(region.list?.name).toBe('clean');
    expect(made.core.isCleanBit(6), 'the clear waits for update_states').toBe(false);
    made.rh.checkInvariants();
  });

  it('§3.3 dm_rh_dec to 0 keeps a NOSYNC region NOSYNC in the hash, on no list, and wakes kmirrord', () => {
    const made = setup({ sync: 'default' });
    run(made, made.rh.inc(9));
    made.rh.dec(9);
    const region = made.rh.lookup(9)!;
    expect(region.state).toBe(DM_RH_NOSYNC);
    expect(region.list).toBeNull();
    expect(made.wakeups).toBe(1);
    run(made, made.rh.updateStates(true));
    expect(made.rh.lookup(9), 'NOSYNC stays until recovered or reloaded').toBe(region);
    expect(made.timeline.texts(/clear/)).toEqual([]);
  });

  it('§3.3 dm_rh_dec to 0 appends a RECOVERING region to the tail of the quiesced list', () => {
    const made = setup({ sync: 'default', maxRecovery: 2 });
    // Region 0 is handed out while a write is pending; region 1 is idle and quiesced at once.
    run(made, made.rh.inc(0));
    prepareRecovery(made);
    expect(made.rh.lookup(0)!.state).toBe(DM_RH_RECOVERING);
    expect(made.rh.lookup(0)!.list).toBeNull();
    expect(made.rh.lookup(1)!.list?.name).toBe('quiesced');
    made.rh.dec(0);
    expect(made.rh.lookup(0)!.list?.name).toBe('quiesced');
    expect(made.rh.recoveryStart()?.key).toBe(1);
    expect(made.rh.recoveryStart()?.key).toBe(0);
    expect(made.rh.recoveryStart()).toBeUndefined();
  });

  it('§3.3 dm_rh_dec of a region not in the hash, or with nothing pending, is a broken invariant', () => {
    const made = setup();
    expect(() => made.rh.dec(3)).toThrow(InvariantError);
    run(made, made.rh.inc(3));
    made.rh.dec(3);
    expect(() => made.rh.dec(3)).toThrow(/no pending writes/);
  });

  it('§3.3 dm_rh_mark_nosync on a DIRTY region clears the log sync bit and makes it NOSYNC', () => {
    const made = setup();
    const write = bio(5);
    run(made, made.rh.inc(5));
    run(made, made.rh.markNosync(write));
    expect(made.rh.lookup(5)!.state).toBe(DM_RH_NOSYNC);
    expect(made.core.isSyncBit(5)).toBe(false);
    expect(run(made, made.log.getSyncCount())).toBe(REGIONS - 1);
    made.rh.dec(5);
    expect(made.rh.lookup(5)!.state, 'the failed region never turns CLEAN').toBe(DM_RH_NOSYNC);
    expect(logCalls(made)).toEqual(['log mark 5', 'log set_region_sync 5 0']);
  });

  it('§3.3 dm_rh_mark_nosync on a RECOVERING region completes its resync work as failed at once', () => {
    const made = setup({ sync: 'default' });
    const write = bio(0);
    run(made, made.rh.inc(0));
    prepareRecovery(made);
    expect(made.rh.recoveryInFlight).toBe(1);
    made.timeline.clear();
    run(made, made.rh.markNosync(write));
    expect(logCalls(made)).toEqual([
      'log set_region_sync 0 0',
      'log set_region_sync 0 0',
      'wake recovery waiters',
    ]);
    expect(made.rh.lookup(0)!.state).toBe(DM_RH_NOSYNC);
    expect(made.rh.recoveryInFlight).toBe(0);
    expect(made.core.isRecoveringBit(0)).toBe(false);
  });

  it('§3.3 dm_rh_mark_nosync of a PREFLUSH sets the sticky flush_failure; a discard is ignored', () => {
    const made = setup();
    run(made, made.rh.markNosync(bio(0, 'discard')));
    expect(made.rh.flushFailure).toBe(false);
    run(made, made.rh.markNosync(bio(0, 'flush')));
    expect(made.rh.flushFailure).toBe(true);
    expect(logCalls(made), 'neither touches the log').toEqual([]);
    expect(made.rh.size).toBe(0);
  });

  it('§3.3 dm_rh_mark_nosync requires the region in the hash and on no list', () => {
    const made = setup();
    expect(() => run(made, made.rh.markNosync(bio(2)))).toThrow(/not in the hash/);
    run(made, made.rh.find(3));
    expect(() => run(made, made.rh.markNosync(bio(3)))).toThrow(/on the clean list/);
  });

  it('§3.3 §4.8 after a PREFLUSH failure every region whose writes drain becomes NOSYNC, never CLEAN', () => {
    const made = setup();
    run(made, made.rh.inc(1));
    run(made, made.rh.markNosync(bio(0, 'flush')));
    made.rh.dec(1);
    expect(made.rh.lookup(1)!.state).toBe(DM_RH_NOSYNC);
    run(made, made.rh.updateStates(true));
    run(made, made.rh.inc(2));
    made.rh.dec(2);
    expect(made.rh.lookup(2)!.state, 'still sticky later').toBe(DM_RH_NOSYNC);
    expect(made.rh.flushFailure).toBe(true);
    expect(made.timeline.texts(/clear/)).toEqual([]);
  });
});

describe('update_states (§3.4)', () => {
  it('§3.4 update_states clears recovered regions and completes them, completes failed ones without a clear, clears clean ones, then flushes', () => {
    const made = setup({ sync: 'default', maxRecovery: 2 });
    run(made, made.core.setRegionSync(7, true));
    run(made, made.rh.inc(7));
    made.rh.dec(7);
    prepareRecovery(made);
    const first = made.rh.recoveryStart()!;
    const second = made.rh.recoveryStart()!;
    made.rh.recoveryEnd(first, false);
    made.rh.recoveryEnd(second, true);
    made.timeline.clear();
    run(made, made.rh.updateStates(true));
    // The quiesced list is popped from its head: region 1 (added last by list_move) first.
    expect([first.key, second.key]).toEqual([1, 0]);
    expect(logCalls(made)).toEqual([
      'log clear 0',
      'log set_region_sync 0 1',
      'log set_region_sync 1 0',
      'wake recovery waiters',
      'log clear 7',
      'log flush',
      'log flush -> 0',
    ]);
    expect(made.rh.size, 'every spliced region left the hash').toBe(0);
    expect(made.core.isSyncBit(0)).toBe(true);
    expect(made.core.isSyncBit(1)).toBe(false);
  });

  it('§3.4 a failed recovery is recorded in sync without handle_errors (legacy best effort)', () => {
    const made = setup({ sync: 'default' });
    prepareRecovery(made);
    made.rh.recoveryEnd(made.rh.recoveryStart()!, false);
    run(made, made.rh.updateStates(false));
    expect(made.timeline.texts(/set_region_sync|clear/)).toEqual(['log set_region_sync 0 1']);
    expect(made.core.isSyncBit(0)).toBe(true);
    expect(made.core.isCleanBit(0), 'the failed region is never cleared').toBe(true);
  });

  it('§3.4 complete_resync_work records the result, dispatches delayed bios, wakes recovery waiters, then releases the slot', () => {
    const made = setup({ sync: 'default' });
    prepareRecovery(made);
    const delayed = [bio(0), bio(0)];
    for (const write of delayed) run(made, made.rh.delay(write));
    const region = made.rh.recoveryStart()!;
    expect(region.delayedBios).toEqual(delayed);
    made.rh.recoveryEnd(region, true);
    made.timeline.clear();
    run(made, made.rh.updateStates(true));
    expect(logCalls(made)).toEqual([
      'log clear 0',
      'log set_region_sync 0 1',
      'dispatch 2',
      'wake recovery waiters',
      'log flush',
      'log flush -> 0',
    ]);
    expect(made.dispatched).toEqual(delayed);
    run(made, made.rh.recoveryPrepare());
    expect(made.rh.lookup(1)?.state, 'the slot was released').toBe(DM_RH_RECOVERING);
  });

  it('§3.4 update_states ignores a failed log flush', () => {
    const made = setup();
    made.hooks.flushResults.push(EIO);
    run(made, made.rh.updateStates(true));
    expect(made.timeline.texts(/flush/)).toEqual(['log flush', `log flush -> ${EIO}`]);
  });

  it('§3.4 a clean is deferred twice: until the last write drains, then until update_states', () => {
    const made = setup();
    run(made, made.rh.inc(2));
    run(made, made.rh.inc(2));
    run(made, made.rh.updateStates(true));
    made.rh.dec(2);
    run(made, made.rh.updateStates(true));
    expect(made.core.isCleanBit(2), 'one write still pending').toBe(false);
    made.rh.dec(2);
    expect(made.core.isCleanBit(2), 'drained, but update_states has not run').toBe(false);
    run(made, made.rh.updateStates(true));
    expect(made.core.isCleanBit(2)).toBe(true);
    expect(made.rh.lookup(2)).toBeUndefined();
  });
});

describe('recovery control (§3.5)', () => {
  it('§3.5 recovery quiesces one region at a time (max_recovery = 1)', () => {
    const made = setup({ sync: 'default' });
    prepareRecovery(made);
    run(made, made.rh.recoveryPrepare());
    expect(made.timeline.texts(/get_resync_work/)).toEqual(['log get_resync_work -> region 0']);
    expect(made.rh.recoveryInFlight).toBe(1);
    const region = made.rh.recoveryStart()!;
    made.rh.recoveryEnd(region, true);
    run(made, made.rh.recoveryPrepare());
    expect(made.rh.lookup(1), 'the slot is still held until update_states').toBeUndefined();
    run(made, made.rh.updateStates(true));
    run(made, made.rh.recoveryPrepare());
    expect(made.timeline.texts(/get_resync_work/)).toEqual([
      'log get_resync_work -> region 0',
      'log get_resync_work -> region 1',
    ]);
  });

  it('§3.5 a region handed out with writes pending is not copied until they drain', () => {
    const made = setup({ sync: 'default' });
    run(made, made.rh.inc(0));
    prepareRecovery(made);
    expect(made.rh.lookup(0)!.state).toBe(DM_RH_RECOVERING);
    expect(made.rh.recoveryStart()).toBeUndefined();
    made.rh.dec(0);
    expect(made.rh.recoveryStart()?.key).toBe(0);
  });

  it('§3.5 with no resync work, recovery_prepare gives the slot back and wakes the waiters', () => {
    const made = setup();
    prepareRecovery(made);
    expect(made.timeline.texts(/get_resync_work|wake/)).toEqual([
      'log get_resync_work -> none',
      'wake recovery waiters',
    ]);
    expect(made.rh.recoveryInFlight).toBe(0);
    run(made, made.rh.recoveryPrepare());
    expect(made.timeline.texts(/get_resync_work/), 'the slot was released').toHaveLength(2);
  });

  it('§3.5 stop_recovery waits for the region in recovery, then keeps recovery stopped until start_recovery', () => {
    const made = setup({ sync: 'default' });
    prepareRecovery(made);
    const region = made.rh.recoveryStart()!;
    let stopped = false;
    spawn(made.rh.stopRecovery(), () => {
      stopped = true;
    });
    expect(stopped).toBe(false);
    made.rh.recoveryEnd(region, true);
    expect(stopped).toBe(false);
    run(made, made.rh.updateStates(true));
    expect(stopped).toBe(true);
    run(made, made.rh.recoveryPrepare());
    expect(made.rh.lookup(1), 'stopped: no new work').toBeUndefined();
    const wakeups = made.wakeups;
    made.rh.startRecovery();
    expect(made.wakeups).toBe(wakeups + 1);
    run(made, made.rh.recoveryPrepare());
    expect(made.rh.lookup(1)?.state).toBe(DM_RH_RECOVERING);
  });

  it('§3.5 dm_rh_delay parks a write on its region until complete_resync_work dispatches it', () => {
    const made = setup({ sync: 'default' });
    prepareRecovery(made);
    const write = bio(0);
    run(made, made.rh.delay(write));
    expect(made.dispatched).toEqual([]);
    made.rh.recoveryEnd(made.rh.recoveryStart()!, true);
    expect(made.dispatched, 'not at recovery end').toEqual([]);
    run(made, made.rh.updateStates(true));
    expect(made.dispatched).toEqual([write]);
  });

  it('§3.5 dm_region_hash_destroy refuses regions with pending writes or quiesced regions', () => {
    const pending = setup();
    run(pending, pending.rh.inc(1));
    expect(() => run(pending, pending.rh.destroy())).toThrow(/pending/);
    const quiesced = setup({ sync: 'default' });
    prepareRecovery(quiesced);
    expect(() => run(quiesced, quiesced.rh.destroy())).toThrow(/quiesced/);
  });
});

describe('region hash properties', () => {
  type Step = { kind: 'write'; region: number } | { kind: 'complete' } | { kind: 'update' };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant('write' as const), region: fc.integer({ min: 0, max: 5 }) }),
    fc.record({ kind: fc.constant('complete' as const) }),
    fc.record({ kind: fc.constant('update' as const) }),
  );

  it('§3.3 §5.1 §5.2 a region with writes pending is marked in the log, and is cleared only after they drain', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const made = setup();
        const inFlight: number[] = [];
        for (const next of steps) {
          if (next.kind === 'write') {
            run(made, made.rh.inc(next.region));
            inFlight.push(next.region);
          } else if (next.kind === 'complete' && inFlight.length > 0) {
            made.rh.dec(inFlight.shift()!);
          } else if (next.kind === 'update') {
            run(made, made.rh.updateStates(true));
          }
          made.rh.checkInvariants();
          for (const region of inFlight) expect(made.core.isCleanBit(region)).toBe(false);
        }
        while (inFlight.length > 0) made.rh.dec(inFlight.shift()!);
        run(made, made.rh.updateStates(true));
        expect(made.rh.size).toBe(0);
        for (let region = 0; region < REGIONS; region++) {
          expect(made.core.isCleanBit(region)).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('the region hash rejects misuse with an assertion that names it (§3)', () => {
  /** A region hash over `made.log` with `changes` to its options. */
  function rebuild(made: Setup, changes: Partial<ConstructorParameters<typeof RegionHash>[0]>) {
    return new RegionHash({
      log: made.log,
      scheduler: made.world.scheduler,
      regionSizeSectors: REGION_SECTORS,
      regionCount: REGIONS,
      maxRecovery: 1,
      dispatchBios: () => {},
      wakeupWorkers: () => {},
      wakeupAllRecoveryWaiters: () => {},
      ...changes,
    });
  }

  it('names every region state, and an unknown one by its value', () => {
    expect([DM_RH_CLEAN, DM_RH_DIRTY, DM_RH_NOSYNC, DM_RH_RECOVERING].map(regionStateName)).toEqual(
      ['CLEAN', 'DIRTY', 'NOSYNC', 'RECOVERING'],
    );
    expect(regionStateName(0x10)).toBe('UNKNOWN(16)');
  });

  it('needs a positive whole region count and max_recovery of at least 1', () => {
    const made = setup();
    for (const regionCount of [0, -1, 1.5]) {
      expect(() => rebuild(made, { regionCount })).toThrow(
        `region count ${regionCount} is not positive`,
      );
    }
    expect(rebuild(made, { regionCount: 1 }).regionCount).toBe(1);
    expect(() => rebuild(made, { maxRecovery: 0 })).toThrow('max_recovery must be at least 1');
  });

  it('§3.2 dm_rh_dec of a region without pending writes, or not in the hash, is a broken pairing', () => {
    const made = setup();
    expect(() => made.rh.dec(3)).toThrow('dm_rh_dec of region 3, which is not in the hash');
    run(made, made.rh.inc(2));
    made.rh.dec(2);
    expect(made.rh.lookup(2)?.state).toBe(DM_RH_CLEAN);
    expect(() => made.rh.dec(2)).toThrow('dm_rh_dec of region 2 with no pending writes');
  });

  it('§3.4 resync work outside the target is refused, whatever the log says', () => {
    for (const region of [REGIONS, -1, 2.5]) {
      const made = setup({ sync: 'default' });
      const lying = Object.create(made.log) as typeof made.log;
      lying.getResyncWork = () => immediate({ result: 1, region });
      const rh = rebuild(made, { log: lying });
      rh.startRecovery();
      expect(() => run(made, rh.recoveryPrepare())).toThrow(
        `log handed out resync work for region ${region} outside [0, ${REGIONS})`,
      );
    }
  });

  it('§3.4 recovery can end only on a RECOVERING region that is on no list', () => {
    const made = setup();
    run(made, made.rh.inc(1));
    const entry = made.rh.lookup(1);
    expect(entry?.state).toBe(DM_RH_DIRTY);
    expect(() => made.rh.recoveryEnd(entry!, true)).toThrow(
      'recovery ended on region 1 that is not RECOVERING',
    );
  });
});
