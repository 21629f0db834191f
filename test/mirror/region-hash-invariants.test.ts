/**
 * White-box misuse tests of the region hash: each one breaks a relation
 * between a region's state, its list and its pending count (by reaching into
 * the private state, or by a call the mirror never makes) and checks that the
 * invariant check or the transition refuses it with a message that names the
 * region and the broken relation. A sibling of region-hash.test.ts, which
 * tests the transitions a correct caller makes.
 */
import { describe, expect, it } from 'vitest';
import { runTask } from '../../sim/run-task.js';
import { World } from '../../sim/world.js';
import type { Blocking } from '../../src/concurrency/blocking.js';
import type { Bio, BioOperation } from '../../src/dm/bio.js';
import type { CoreLog } from '../../src/log/core-log.js';
import '../../src/log/builtin-logs.js';
import { createDirtyLog } from '../../src/log/registry.js';
import {
  DM_RH_CLEAN,
  DM_RH_DIRTY,
  DM_RH_NOSYNC,
  DM_RH_RECOVERING,
  type Region,
  RegionHash,
  type RegionHashOptions,
} from '../../src/mirror/region-hash.js';
import type { RegionList } from '../../src/mirror/region-list.js';
import { invariantMessage } from '../assert-test-kit.js';
import { regionBio } from './mirror-test-kit.js';

const REGION_SECTORS = 8;
const REGIONS = 16;

interface Setup {
  readonly world: World;
  readonly core: CoreLog;
  readonly rh: RegionHash;
  /** Calls of `wakeupAllRecoveryWaiters`. */
  readonly recoveryWakeups: number[];
}

/** The private parts of a region hash that these tests corrupt or inspect. */
interface RegionHashInternals {
  readonly regions: Map<number, Region>;
  readonly cleanRegions: RegionList;
  readonly quiescedRegions: RegionList;
  recoveryInFlightCount: number;
}

function internals(rh: RegionHash): RegionHashInternals {
  return rh as unknown as RegionHashInternals;
}

/**
 * A region hash over a core log of 16 regions, in a world that keeps its
 * recent trace. `nosync` starts every region in sync (a found region is
 * CLEAN); `default` starts every region out of sync (NOSYNC, resync work).
 */
function setup(sync: 'nosync' | 'default' = 'nosync', changes: Partial<RegionHashOptions> = {}) {
  const world = new World({ seed: 1, traceRecentCapacity: 256 });
  const args = [String(REGION_SECTORS)];
  if (sync === 'nosync') args.push('nosync');
  const core = createDirtyLog(
    'core',
    {
      scheduler: world.scheduler,
      targetLengthSectors: REGIONS * REGION_SECTORS,
      flushCallback: null,
      getDevice: () => {
        throw new TypeError('the core log opens no device');
      },
      raiseEvent: () => {},
    },
    args,
  ) as CoreLog;
  const recoveryWakeups: number[] = [];
  const rh = new RegionHash({
    log: core,
    scheduler: world.scheduler,
    regionSizeSectors: REGION_SECTORS,
    regionCount: REGIONS,
    maxRecovery: 1,
    dispatchBios: () => {},
    wakeupWorkers: () => {},
    wakeupAllRecoveryWaiters: () => recoveryWakeups.push(world.scheduler.now()),
    ...changes,
  });
  const made: Setup = { world, core, rh, recoveryWakeups };
  return made;
}

function run<T>(made: Setup, task: Blocking<T>): T {
  return runTask(made.world.scheduler, task);
}

/** A bio for `region` as `mirror_map` leaves it. */
function bio(region: number, operation: BioOperation = 'write'): Bio {
  return regionBio(region, REGION_SECTORS, operation);
}

/** `default` mode after start_recovery: region 0 handed out and quiesced (RECOVERING, pending 0). */
function quiescedRegionZero(): Setup & { readonly entry: Region } {
  const made = setup('default');
  made.rh.startRecovery();
  run(made, made.rh.recoveryPrepare());
  const entry = made.rh.lookup(0)!;
  expect(entry.state).toBe(DM_RH_RECOVERING);
  expect(entry.list?.name).toBe('quiesced');
  return { ...made, entry };
}

/** Region 0 copied and ended on the `recovered` (success) or `failed_recovered` list. */
function recoveryEnded(success: boolean): Setup & { readonly entry: Region } {
  const made = quiescedRegionZero();
  const entry = made.rh.recoveryStart()!;
  made.rh.recoveryEnd(entry, success);
  expect(entry.list?.name).toBe(success ? 'recovered' : 'failed_recovered');
  return { ...made, entry };
}

describe('checkInvariants accepts every state a correct caller reaches (§3.3)', () => {
  it('§3.3 CLEAN on the clean list, DIRTY with writes pending, NOSYNC on no list', () => {
    const made = setup();
    run(made, made.rh.find(1));
    run(made, made.rh.inc(2));
    run(made, made.core.setRegionSync(3, false));
    run(made, made.rh.inc(3));
    expect([1, 2, 3].map((region) => made.rh.lookup(region)?.state)).toEqual([
      DM_RH_CLEAN,
      DM_RH_DIRTY,
      DM_RH_NOSYNC,
    ]);
    expect(() => made.rh.checkInvariants()).not.toThrow();
  });

  it('§3.5 a RECOVERING region with writes pending is on no list, and it is not yet quiesced', () => {
    const made = setup('default');
    run(made, made.rh.inc(0));
    made.rh.startRecovery();
    run(made, made.rh.recoveryPrepare());
    const entry = made.rh.lookup(0)!;
    expect(entry.state).toBe(DM_RH_RECOVERING);
    expect(entry.pending).toBe(1);
    expect(entry.list).toBeNull();
    expect(() => made.rh.checkInvariants()).not.toThrow();
  });

  it('§3.5 a RECOVERING region may hold delayed writes, quiesced or not', () => {
    const made = quiescedRegionZero();
    run(made, made.rh.delay(bio(0)));
    expect(made.entry.delayedBios).toHaveLength(1);
    expect(() => made.rh.checkInvariants()).not.toThrow();
  });

  it('§3.3 §4.8 a region that drains after a failed PREFLUSH turns NOSYNC with its delayed writes still held', () => {
    const made = setup('default');
    run(made, made.rh.inc(0));
    made.rh.startRecovery();
    run(made, made.rh.recoveryPrepare());
    run(made, made.rh.delay(bio(0)));
    run(made, made.rh.markNosync(bio(0, 'flush')));
    made.rh.dec(0);
    const entry = made.rh.lookup(0)!;
    expect(entry.state).toBe(DM_RH_NOSYNC);
    expect(entry.delayedBios).toHaveLength(1);
    expect(made.rh.flushFailure).toBe(true);
    expect(() => made.rh.checkInvariants()).not.toThrow();
  });
});

describe('checkInvariants names each broken relation (§3.3)', () => {
  it('a negative pending count', () => {
    const made = setup();
    run(made, made.rh.inc(3));
    made.rh.lookup(3)!.pending = -1;
    expect(invariantMessage(() => made.rh.checkInvariants())).toBe(
      'region 3 pending count is negative',
    );
  });

  it('§3.3 a CLEAN region with writes pending', () => {
    const made = setup();
    run(made, made.rh.find(3));
    made.rh.lookup(3)!.pending = 1;
    expect(invariantMessage(() => made.rh.checkInvariants())).toBe(
      'CLEAN region 3 has pending writes',
    );
  });

  it('§3.3 a CLEAN region that is not on the clean list', () => {
    const made = setup();
    const entry = run(made, made.rh.find(3));
    internals(made.rh).cleanRegions.remove(entry);
    expect(invariantMessage(() => made.rh.checkInvariants())).toBe(
      'CLEAN region 3 is not on the clean list',
    );
  });

  it('§3.3 a DIRTY region with no writes pending', () => {
    const made = setup();
    run(made, made.rh.inc(4));
    made.rh.lookup(4)!.pending = 0;
    expect(invariantMessage(() => made.rh.checkInvariants())).toBe(
      'DIRTY region 4 has no pending writes',
    );
  });

  it('§3.3 a DIRTY region on a list', () => {
    const made = setup();
    run(made, made.rh.inc(4));
    internals(made.rh).quiescedRegions.addTail(made.rh.lookup(4)!);
    expect(invariantMessage(() => made.rh.checkInvariants())).toBe('DIRTY region 4 is on a list');
  });

  it('§3.3 a NOSYNC region on a list', () => {
    const made = setup('default');
    run(made, made.rh.inc(5));
    made.rh.dec(5);
    const entry = made.rh.lookup(5)!;
    expect(entry.state).toBe(DM_RH_NOSYNC);
    internals(made.rh).quiescedRegions.addTail(entry);
    expect(invariantMessage(() => made.rh.checkInvariants())).toBe('NOSYNC region 5 is on a list');
  });

  it('§3.5 a RECOVERING region on the clean list', () => {
    const made = quiescedRegionZero();
    const lists = internals(made.rh);
    lists.quiescedRegions.remove(made.entry);
    lists.cleanRegions.addHead(made.entry);
    expect(invariantMessage(() => made.rh.checkInvariants())).toBe(
      'RECOVERING region 0 is on the clean list',
    );
  });

  it('§3.5 a quiesced region with writes pending', () => {
    const made = quiescedRegionZero();
    made.entry.pending = 1;
    expect(invariantMessage(() => made.rh.checkInvariants())).toBe(
      'quiesced region 0 has pending writes',
    );
  });

  it('§3.5 delayed writes on a DIRTY region, with and without a flush failure', () => {
    const made = setup();
    run(made, made.rh.inc(3));
    run(made, made.rh.delay(bio(3)));
    expect(invariantMessage(() => made.rh.checkInvariants())).toBe(
      'region 3 holds delayed bios but is DIRTY, not RECOVERING (flush_failure clear)',
    );
    run(made, made.rh.markNosync(bio(0, 'flush')));
    expect(invariantMessage(() => made.rh.checkInvariants())).toBe(
      'region 3 holds delayed bios but is DIRTY, not RECOVERING (flush_failure set)',
    );
  });

  it('§3.5 §4.8 delayed writes on a NOSYNC region are allowed only after a flush failure', () => {
    const made = setup('default');
    run(made, made.rh.inc(6));
    made.rh.dec(6);
    run(made, made.rh.delay(bio(6)));
    expect(invariantMessage(() => made.rh.checkInvariants())).toBe(
      'region 6 holds delayed bios but is NOSYNC, not RECOVERING (flush_failure clear)',
    );
    run(made, made.rh.markNosync(bio(0, 'flush')));
    expect(() => made.rh.checkInvariants()).not.toThrow();
  });

  it('§3.5 delayed writes on a CLEAN region', () => {
    const made = setup();
    run(made, made.rh.delay(bio(2)));
    expect(made.rh.lookup(2)?.state).toBe(DM_RH_CLEAN);
    expect(invariantMessage(() => made.rh.checkInvariants())).toBe(
      'region 2 holds delayed bios but is CLEAN, not RECOVERING (flush_failure clear)',
    );
  });
});

describe('region hash transitions refuse a broken state (§3.3 §3.4 §3.5)', () => {
  it('§3.1 the region size in the message is the one refused', () => {
    const made = setup();
    const base: RegionHashOptions = {
      log: made.core,
      scheduler: made.world.scheduler,
      regionSizeSectors: REGION_SECTORS,
      regionCount: REGIONS,
      maxRecovery: 1,
      dispatchBios: () => {},
      wakeupWorkers: () => {},
      wakeupAllRecoveryWaiters: () => {},
    };
    for (const regionSizeSectors of [12, 1, 0]) {
      expect(invariantMessage(() => new RegionHash({ ...base, regionSizeSectors }))).toBe(
        `region size ${regionSizeSectors} is not a power of two ≥ 2`,
      );
    }
  });

  it('§3.3 rh_inc checks that the pending count went up', () => {
    const made = setup();
    run(made, made.rh.inc(3));
    made.rh.lookup(3)!.pending = -1;
    expect(invariantMessage(() => run(made, made.rh.inc(3)))).toBe(
      'pending count did not increase',
    );
  });

  it('§3.3 dm_rh_dec names the list a region with writes pending was found on', () => {
    const clean = setup();
    run(clean, clean.rh.find(2));
    clean.rh.lookup(2)!.pending = 1;
    expect(invariantMessage(() => clean.rh.dec(2))).toBe(
      'region 2 with pending writes is on the clean list',
    );
    const recovered = recoveryEnded(true);
    recovered.entry.pending = 1;
    expect(invariantMessage(() => recovered.rh.dec(0))).toBe(
      'region 0 with pending writes is on the recovered list',
    );
    const failed = recoveryEnded(false);
    failed.entry.pending = 1;
    expect(invariantMessage(() => failed.rh.dec(0))).toBe(
      'region 0 with pending writes is on the failed_recovered list',
    );
  });

  it('§3.4 update_states refuses a clean-list region with writes pending', () => {
    const made = setup();
    run(made, made.rh.find(3));
    made.rh.lookup(3)!.pending = 1;
    expect(invariantMessage(() => run(made, made.rh.updateStates(true)))).toBe(
      'clean region 3 has pending writes',
    );
  });

  it('§3.4 update_states names the list whose region had left the hash', () => {
    const clean = setup();
    run(clean, clean.rh.find(3));
    internals(clean.rh).regions.delete(3);
    expect(invariantMessage(() => run(clean, clean.rh.updateStates(true)))).toBe(
      'region 3 on the clean list was not in the hash',
    );
    for (const [success, list] of [
      [true, 'recovered'],
      [false, 'failed_recovered'],
    ] as const) {
      const made = recoveryEnded(success);
      internals(made.rh).regions.delete(0);
      expect(invariantMessage(() => run(made, made.rh.updateStates(true)))).toBe(
        `region 0 on the ${list} list was not in the hash`,
      );
    }
  });

  it('§3.4 complete_resync_work without a recovery in flight drives recovery_in_flight negative', () => {
    const made = setup('default');
    const entry = run(made, made.rh.find(0));
    expect(made.rh.recoveryInFlight).toBe(0);
    expect(invariantMessage(() => run(made, made.rh.completeResyncWork(entry, true)))).toBe(
      'recovery_in_flight went negative',
    );
  });

  it('§3.5 recovery_prepare checks recovery_in_flight when it drops its extra reference', () => {
    const made = setup('default');
    internals(made.rh).recoveryInFlightCount = -1;
    expect(invariantMessage(() => run(made, made.rh.recoveryPrepare()))).toBe(
      'recovery_in_flight went negative',
    );
  });

  it('§3.5 recovery_prepare wakes the recovery waiters only when no recovery is left in flight', () => {
    const made = setup('default');
    made.rh.startRecovery();
    run(made, made.rh.recoveryPrepare());
    expect(made.rh.recoveryInFlight).toBe(1);
    run(made, made.rh.recoveryPrepare());
    expect(made.recoveryWakeups, 'region 0 is still in flight').toEqual([]);
    made.rh.recoveryEnd(made.rh.recoveryStart()!, true);
    run(made, made.rh.updateStates(true));
    expect(made.rh.recoveryInFlight).toBe(0);
    expect(made.recoveryWakeups).toHaveLength(1);
  });

  it('§3.5 __rh_recovery_prepare takes a region with writes pending off any list (list_del_init)', () => {
    const made = setup();
    const entry = run(made, made.rh.find(0));
    expect(entry.list?.name).toBe('clean');
    // A broken pairing leaves writes counted on a listed region; the log then hands it out.
    entry.pending = 1;
    run(made, made.core.setRegionSync(0, false));
    made.rh.startRecovery();
    run(made, made.rh.recoveryPrepare());
    expect(entry.state).toBe(DM_RH_RECOVERING);
    expect(entry.list).toBeNull();
    expect(made.rh.recoveryStart(), 'not quiesced while a write is pending').toBeUndefined();
  });

  it('§3.5 dm_rh_recovery_start refuses a quiesced region that is not RECOVERING', () => {
    const made = quiescedRegionZero();
    made.entry.state = DM_RH_DIRTY;
    expect(invariantMessage(() => made.rh.recoveryStart())).toBe(
      'quiesced region 0 is not RECOVERING',
    );
  });

  it('§3.5 dm_rh_recovery_start refuses a quiesced region with writes pending', () => {
    const made = quiescedRegionZero();
    made.entry.pending = 1;
    expect(invariantMessage(() => made.rh.recoveryStart())).toBe(
      'quiesced region 0 has pending writes',
    );
  });

  it('§3.5 dm_rh_recovery_end refuses a region still on the quiesced list (never started)', () => {
    const made = quiescedRegionZero();
    expect(invariantMessage(() => made.rh.recoveryEnd(made.entry, true))).toBe(
      'recovered region 0 is on a list',
    );
  });
});

describe('region hash trace points (§3.3 §3.5 §4.8)', () => {
  it('records rh.mark, rh.recovery_prepare, rh.mark_nosync and rh.flush_failure with their region', () => {
    const made = setup('default');
    run(made, made.core.setRegionSync(2, true));
    run(made, made.rh.inc(2));
    run(made, made.rh.inc(2));
    made.rh.startRecovery();
    run(made, made.rh.recoveryPrepare());
    run(made, made.rh.markNosync(bio(2)));
    run(made, made.rh.markNosync(bio(0, 'flush')));
    const points = made.world.scheduler.traceLog
      .recent()
      .filter((record) => !record.isEvent && record.label.startsWith('rh.'))
      .map((record) => `${record.label} ${record.detail}`);
    expect(points).toEqual([
      'rh.mark 2',
      'rh.recovery_prepare 0',
      'rh.mark_nosync 2',
      'rh.flush_failure 0',
    ]);
  });
});
