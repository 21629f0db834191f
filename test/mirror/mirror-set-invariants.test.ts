/**
 * White-box misuse tests of the mirror set: each one breaks one of the set's
 * own invariants (by reaching into its private state through a structural
 * cast, or by a call DM core and the region hash never make) and checks
 * that `checkInvariants()` or the method refuses it with a message naming
 * the broken relation. The last part reads the world's trace to pin the
 * labels and details the mirror records. A sibling of
 * region-hash-invariants.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTask } from '../../sim/run-task.js';
import { Trace, type TraceRecord } from '../../sim/trace.js';
import { World } from '../../sim/world.js';
import type { BlockIoError } from '../../src/block/block-device.js';
import { type Blocking, waitFor } from '../../src/concurrency/blocking.js';
import { Bio, type BioOperation } from '../../src/dm/bio.js';
import { EIO } from '../../src/errno.js';
import type { DirtyLog } from '../../src/log/dirty-log.js';
import '../../src/log/builtin-logs.js';
import { createDirtyLog } from '../../src/log/registry.js';
import { Leg } from '../../src/mirror/leg.js';
import { DELAYED_WAKE_TICKS, type MirrorFeatures, MirrorSet } from '../../src/mirror/mirror-set.js';
import { DM_RH_DIRTY, type RegionState } from '../../src/mirror/region-hash.js';
import { invariantMessage } from '../assert-test-kit.js';
import {
  MirrorHarness,
  registerRecordingLogTypes,
  unregisterRecordingLogTypes,
} from './mirror-test-kit.js';

beforeAll(registerRecordingLogTypes);
afterAll(unregisterRecordingLogTypes);

const REGION_SECTORS = 8;
const LENGTH_SECTORS = 128;
const CORE_NOSYNC = '0 128 mirror rec-core 2 8 nosync 2 leg0 0 leg1 0';
const CORE_NOSYNC_HANDLE = `${CORE_NOSYNC} 1 handle_errors`;
const NO_FEATURES: MirrorFeatures = { handleErrors: false, keepLog: false };

/** The private parts of a mirror set that these tests corrupt or call. */
interface MirrorInternals {
  defaultLegIndex: number;
  holds: Bio[];
  workRunning: boolean;
  runWork(): void;
  submitToLeg(leg: Leg, bio: Bio, done: (error: BlockIoError | null) => void): void;
}

function internals(mirror: MirrorSet): MirrorInternals {
  return mirror as unknown as MirrorInternals;
}

/** A `core` log over the whole length, in sync from the start (`nosync`). */
function coreLog(world: World): DirtyLog {
  return createDirtyLog(
    'core',
    {
      scheduler: world.scheduler,
      targetLengthSectors: LENGTH_SECTORS,
      flushCallback: null,
      getDevice: () => {
        throw new TypeError('the core log opens no device');
      },
      raiseEvent: () => {},
    },
    [String(REGION_SECTORS), 'nosync'],
  );
}

interface Direct {
  readonly world: World;
  readonly mirror: MirrorSet;
}

/** A mirror set built without `mirror_ctr` (which would refuse some of these shapes). */
function direct(
  options: { legCount?: number; features?: MirrorFeatures; log?: (world: World) => DirtyLog } = {},
): Direct {
  const world = new World({ seed: 1 });
  const legs = Array.from(
    { length: options.legCount ?? 2 },
    (_, index) =>
      new Leg(index, world.createDevice({ name: `leg${index}`, sizeSectors: LENGTH_SECTORS }), 0),
  );
  const mirror = new MirrorSet({
    scheduler: world.scheduler,
    lengthSectors: LENGTH_SECTORS,
    log: (options.log ?? coreLog)(world),
    legs,
    features: options.features ?? NO_FEATURES,
    raiseEvent: () => {},
  });
  world.scheduler.runUntilIdle();
  return { world, mirror };
}

function newBio(operation: BioOperation, sector: number, data?: Uint8Array | null): Bio {
  const sectorCount = operation === 'flush' ? 0 : REGION_SECTORS;
  const payload =
    data !== undefined ? data : operation === 'write' ? new Uint8Array(sectorCount * 512) : null;
  return new Bio(operation, sector, sectorCount, payload, false, false, () => {});
}

describe('MirrorSet.checkInvariants (§4.6)', () => {
  it('§4.6 accepts a held write and a switched default leg under handle_errors', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC_HANDLE });
    h.sim('leg0').faults.injectNext('write', 'error');
    h.write(16, 8);
    h.settle();
    expect(h.mirror.heldCount).toBe(1);
    expect(h.mirror.defaultLeg.index).toBe(1);
    expect(() => h.mirror.checkInvariants()).not.toThrow();
  });

  it('a default leg index outside the legs', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC_HANDLE });
    for (const index of [-1, 2]) {
      internals(h.mirror).defaultLegIndex = index;
      expect(invariantMessage(() => h.mirror.checkInvariants())).toBe('default leg out of range');
    }
    internals(h.mirror).defaultLegIndex = 1;
    expect(() => h.mirror.checkInvariants()).not.toThrow();
  });

  it('§4.4 a held write without handle_errors', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC });
    internals(h.mirror).holds.push(newBio('write', 16));
    expect(invariantMessage(() => h.mirror.checkInvariants())).toBe(
      'writes were held without handle_errors',
    );
  });

  it('§4.6 a default leg switched without handle_errors', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC });
    internals(h.mirror).defaultLegIndex = 1;
    expect(invariantMessage(() => h.mirror.checkInvariants())).toBe(
      'the default leg switched without handle_errors',
    );
  });

  it('§4.4 a held read', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC_HANDLE });
    internals(h.mirror).holds.push(newBio('read', 16));
    expect(invariantMessage(() => h.mirror.checkInvariants())).toBe('a read was held');
  });

  it('checks the region hash too', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC });
    h.write(16, 8);
    h.runUntil(() => h.mirror.rh.lookup(2)?.state === DM_RH_DIRTY, 'region 2 DIRTY');
    h.mirror.rh.lookup(2)!.pending = -1;
    expect(invariantMessage(() => h.mirror.checkInvariants())).toBe(
      'region 2 pending count is negative',
    );
  });
});

describe('MirrorSet refuses calls its callers never make (§4.1 §4.4 §4.7)', () => {
  it('§4.1 a mirror set has 2 to 9 legs', () => {
    for (const legCount of [1, 10]) {
      expect(invariantMessage(() => direct({ legCount }))).toBe('a mirror set has 2 to 9 legs');
    }
    for (const legCount of [2, 9]) {
      expect(direct({ legCount }).mirror.legs).toHaveLength(legCount);
    }
  });

  it('§4.1 keep_log without handle_errors (mirror_ctr refuses it first)', () => {
    expect(
      invariantMessage(() => direct({ features: { handleErrors: false, keepLog: true } })),
    ).toBe('keep_log without handle_errors');
    for (const handleErrors of [false, true]) {
      expect(direct({ features: { handleErrors, keepLog: false } }).mirror.features).toEqual({
        handleErrors,
        keepLog: false,
      });
    }
    expect(
      direct({ features: { handleErrors: true, keepLog: true } }).mirror.features.keepLog,
    ).toBe(true);
  });

  it('§4.7 map on a destroyed set', () => {
    const { world, mirror } = direct();
    runTask(world.scheduler, mirror.destroy());
    expect(invariantMessage(() => mirror.map(newBio('write', 16)))).toBe(
      'map on a destroyed mirror set',
    );
    expect(invariantMessage(() => mirror.map(newBio('read', 16)))).toBe(
      'map on a destroyed mirror set',
    );
  });

  it('§4.7 mirror_dtr with a recovery copy in flight', () => {
    const h = new MirrorHarness({
      table: '0 128 mirror rec-core 1 8 2 leg0 0 leg1 0',
      settle: false,
    });
    h.runUntil(() => h.mirror.kcopyd.busy > 0, 'a recovery copy in flight');
    expect(invariantMessage(() => runTask(h.world.scheduler, h.mirror.destroy()))).toBe(
      'destroying a mirror set with copies in flight',
    );
  });

  it('§4.4 a second kmirrord pass while one runs', () => {
    const { mirror } = direct();
    internals(mirror).workRunning = true;
    expect(invariantMessage(() => internals(mirror).runWork())).toBe('kmirrord ran twice at once');
  });

  it('§4.4 a write bio without data', () => {
    const { world, mirror } = direct();
    mirror.map(newBio('write', 16, null));
    expect(invariantMessage(() => world.scheduler.runUntilIdle())).toBe('a write bio carries data');
  });

  it('§4.4 a read handed to the leg write path', () => {
    const { mirror } = direct();
    const leg = mirror.legs[0]!;
    expect(
      invariantMessage(() => internals(mirror).submitToLeg(leg, newBio('read', 16), () => {})),
    ).toBe('reads are not written to legs');
  });

  it('§4.4 do_writes refuses a region state that is none of the four', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC });
    h.write(16, 8);
    h.runUntil(() => h.mirror.rh.lookup(2)?.state === DM_RH_DIRTY, 'region 2 DIRTY');
    h.mirror.rh.lookup(2)!.state = 0x10 as RegionState;
    h.write(16, 8);
    expect(invariantMessage(() => h.settle())).toBe('unexpected region state 16');
  });

  it('§4.3 in_sync(can_block=0) that blocks is refused in mirror_map and in mirror_available', () => {
    let blockInSync = false;
    const blocking = (world: World): DirtyLog => {
      const log = coreLog(world);
      const inSync = log.inSync.bind(log);
      log.inSync = function* (region: number, canBlock: boolean): Blocking<number> {
        if (blockInSync) yield* waitFor<void>(() => {});
        return yield* inSync(region, canBlock);
      };
      return log;
    };
    const { mirror } = direct({ log: blocking });
    blockInSync = true;
    expect(invariantMessage(() => mirror.map(newBio('read', 16)))).toBe(
      'in_sync(can_block=0) blocked where blocking is not allowed',
    );
    const failed = newBio('read', 16);
    failed.status = 'ioerr';
    failed.recordedLeg = 0;
    // The default leg fails, so end_io asks mirror_available, which asks in_sync without blocking.
    expect(invariantMessage(() => mirror.endIo(failed))).toBe(
      'in_sync(can_block=0) blocked where blocking is not allowed',
    );
  });
});

/** Gives the harness's world a trace that remembers records from now on. */
function rememberTrace(h: MirrorHarness): Trace {
  const trace = new Trace(4096);
  // The kit's world keeps no records; its running hash restarts here, which no test reads.
  (h.world.scheduler as unknown as { traceLog: Trace }).traceLog = trace;
  return trace;
}

/** `label detail` of the trace records whose label matches, points and events alike. */
function traced(trace: Trace, pattern: RegExp): string[] {
  return trace
    .recent()
    .filter((record: TraceRecord) => pattern.test(record.label))
    .map((record) => `${record.label} ${record.detail}`);
}

describe('the mirror trace points (§4.4 §4.5 §4.6)', () => {
  it('§4.4 §4.8 kmirrord records each pass and log flush; mirror.write names the region of a write or discard, never of a PREFLUSH', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC });
    const trace = rememberTrace(h);
    h.write(16, 8);
    h.settle();
    h.flush();
    h.settle();
    h.discard(40, 8);
    h.settle();
    expect(traced(trace, /^mirror\.(write|log_flush)/)).toEqual([
      'mirror.log_flush 0',
      'mirror.write 2',
      'mirror.log_flush 0',
      'mirror.log_flush 0',
      'mirror.write 5',
    ]);
    expect(traced(trace, /^kmirrord$/).length).toBeGreaterThanOrEqual(3);
    expect(
      trace.recent().every((record) => record.label !== 'kmirrord' || record.isEvent),
      'kmirrord is a scheduled event',
    ).toBe(true);
  });

  it('§4.4 mirror.log_flush records 1 for the failed flush and 0 again for a later good one, though log_failure stays set', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC });
    const trace = rememberTrace(h);
    // The pass's update_states flushes first; the second answer is do_writes' flush.
    h.hooks.flushResults.push(0, EIO);
    h.write(16, 8);
    h.settle();
    h.write(32, 8);
    h.settle();
    expect(traced(trace, /^mirror\.log_flush$/)).toEqual([
      'mirror.log_flush 1',
      'mirror.log_flush 0',
    ]);
    expect(h.mirror.logFailure).toBe(true);
  });

  it('§4.4 mirror.write_nosync names the region of a write to a region out of sync', () => {
    const h = new MirrorHarness({
      table: '0 128 mirror rec-core 1 8 2 leg0 0 leg1 0',
      settle: false,
    });
    const trace = rememberTrace(h);
    h.write(120, 8);
    h.runFor(1_000);
    expect(traced(trace, /^mirror\.write/)).toEqual(['mirror.write_nosync 15']);
  });

  it('§4.5 mirror.recover names each region recovered, in order', () => {
    const h = new MirrorHarness({
      table: '0 32 mirror rec-core 1 8 2 leg0 0 leg1 0',
      activate: false,
    });
    const trace = rememberTrace(h);
    h.resume();
    h.settle();
    expect(traced(trace, /^mirror\.recover$/)).toEqual([
      'mirror.recover 0',
      'mirror.recover 1',
      'mirror.recover 2',
      'mirror.recover 3',
    ]);
  });

  it('§4.6 mirror.fail_mirror records leg index × 4 + error type, for every error', () => {
    const h = new MirrorHarness({
      table: '0 128 mirror rec-core 2 8 nosync 3 leg0 0 leg1 0 leg2 0',
    });
    const trace = rememberTrace(h);
    h.sim('leg1').faults.injectNext('write', 'error');
    h.write(16, 8);
    h.settle();
    h.sim('leg0').faults.injectNext('read', 'error');
    h.read(64, 8);
    h.settle();
    // leg1 WRITE_ERROR (0) = 4; leg0 READ_ERROR (3) = 3; the retry goes to leg2, fine.
    expect(traced(trace, /^mirror\.fail_mirror$/)).toEqual([
      'mirror.fail_mirror 4',
      'mirror.fail_mirror 3',
    ]);
    h.sim('leg2').faults.injectNext('read', 'error');
    h.read(72, 8);
    h.settle();
    expect(traced(trace, /^mirror\.fail_mirror$/).at(-1)).toBe('mirror.fail_mirror 11');
  });

  it('§4.6 a failing leg that is not the default records mirror.trigger_event (the queued event work) and no mirror.default_leg', () => {
    const h = new MirrorHarness({
      table: '0 128 mirror rec-core 2 8 nosync 3 leg0 0 leg1 0 leg2 0 1 handle_errors',
    });
    const trace = rememberTrace(h);
    h.sim('leg2').faults.injectNext('write', 'error');
    h.write(16, 8);
    h.settle();
    const events = trace.recent().filter((record) => record.label === 'mirror.trigger_event');
    expect(events.map((record) => record.isEvent)).toEqual([true]);
    expect(traced(trace, /^mirror\.default_leg$/)).toEqual([]);
    expect(h.events).toEqual(['mirror in sync', 'leg2 WRITE_ERROR']);
  });

  it('§4.6 mirror.default_leg records the leg the default switched to', () => {
    const h = new MirrorHarness({
      table: '0 128 mirror rec-core 2 8 nosync 3 leg0 0 leg1 0 leg2 0 1 handle_errors',
    });
    const trace = rememberTrace(h);
    h.sim('leg0').faults.injectNext('write', 'error');
    h.write(32, 8);
    h.settle();
    expect(traced(trace, /^mirror\.(default_leg|trigger_event)$/)).toEqual([
      'mirror.default_leg 1',
      'mirror.trigger_event 0',
    ]);
    expect(h.events).toEqual(['mirror in sync', 'leg0 WRITE_ERROR']);
  });

  it('§4.4 mirror.delayed_wake is the HZ/5 timer armed for requeued writes', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC, remoteRecovering: [2] });
    const trace = rememberTrace(h);
    const t0 = h.world.scheduler.now();
    h.write(16, 8);
    h.runFor(DELAYED_WAKE_TICKS + 1);
    const wakes = trace.recent().filter((record) => record.label === 'mirror.delayed_wake');
    expect(wakes.map((record) => [record.timeTicks - t0, record.isEvent])).toEqual([
      [DELAYED_WAKE_TICKS, true],
    ]);
  });
});
