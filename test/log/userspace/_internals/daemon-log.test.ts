import { describe, expect, it } from 'vitest';
import { World } from '../../../../sim/world.js';
import { type Blocking, immediate, runNonBlocking } from '../../../../src/concurrency/blocking.js';
import { EIO, EWOULDBLOCK } from '../../../../src/errno.js';
import { type CoreLog, coreLogType } from '../../../../src/log/core-log.js';
import type { DirtyLog, ResyncWork } from '../../../../src/log/dirty-log.js';
import { DaemonLog } from '../../../../src/log/userspace/_internals/daemon-log.js';
import { invariantMessage } from '../../../assert-test-kit.js';

const REGION_COUNT = 8;
const TARGET_LENGTH_SECTORS = REGION_COUNT * 1024;

/**
 * A `core` backing log of 8 regions of 1024 sectors that records every
 * `in_sync` it is asked. Like a `userspace` backing log would (§2.4), it
 * answers -EWOULDBLOCK when `can_block` is 0, so a daemon that asked without
 * it would read every region as not in sync.
 */
function spiedCoreLog(args: readonly string[] = ['1024']) {
  const world = new World({ seed: 1 });
  const core = coreLogType.create(
    {
      scheduler: world.scheduler,
      targetLengthSectors: TARGET_LENGTH_SECTORS,
      flushCallback: null,
      getDevice: () => expect.unreachable('a core log opens no device'),
      raiseEvent: () => expect.unreachable('a core log raises no event'),
    },
    args,
  ) as CoreLog;
  const asked: { region: number; canBlock: boolean }[] = [];
  const coreInSync = core.inSync.bind(core);
  core.inSync = (region, canBlock) => {
    asked.push({ region, canBlock });
    return canBlock ? coreInSync(region, canBlock) : immediate(EWOULDBLOCK);
  };
  return { core, asked };
}

function daemonLog(backing: DirtyLog): DaemonLog {
  return new DaemonLog({
    uuid: 'daemon-log-test',
    luid: 1n,
    ctrString: `${TARGET_LENGTH_SECTORS} core 1024`,
    backing,
    targetLengthSectors: TARGET_LENGTH_SECTORS,
  });
}

/** Every backing call here is a core log's, which never blocks. */
function run<T>(task: Blocking<T>): T {
  return runNonBlocking(task, 'a core-backed daemon log call');
}

/** A served log over a spied core log, resumed, with `inSyncRegions` recovered. */
function resumedLog(inSyncRegions: readonly number[] = []) {
  const spied = spiedCoreLog();
  const log = daemonLog(spied.core);
  expect(run(log.resume())).toBe(0);
  for (const region of inSyncRegions) run(log.setRegionSync(region, true));
  return { log, ...spied };
}

describe('DaemonLog (cmirrord’s bookkeeping beside a backing log, §4.6)', () => {
  it('its region count is the target length over the backing log’s region size, rounded up', () => {
    const { core } = spiedCoreLog();
    const log = new DaemonLog({
      uuid: 'u',
      luid: 0n,
      ctrString: '8193 core 1024',
      backing: core,
      targetLengthSectors: 8193,
    });
    expect(log.regionCount).toBe(9);
  });

  it('a backing log whose region size is not positive is a broken invariant', () => {
    for (const size of [0, -2]) {
      const { core } = spiedCoreLog();
      core.getRegionSize = () => size;
      expect(invariantMessage(() => daemonLog(core))).toBe(
        `backing log region size ${size} is not positive`,
      );
    }
  });

  it('§4.6 a clear, a SET_REGION_SYNC and IS_REMOTE_RECOVERING ask the backing log in_sync with can_block set', () => {
    const { log, core, asked } = resumedLog([0, 1]);
    core.markRegion(1);
    run(log.clear([1, 2]));
    // Region 1 is in sync, so its clean bit is set again; region 2 is not, so it stays as it was.
    expect(core.isCleanBit(1)).toBe(true);
    run(log.setRegionSync(1, true));
    expect(run(core.getSyncCount())).toBe(2);
    expect(run(log.isRemoteRecovering(1))).toEqual({ recovering: 0, hint: 0 });
    expect(asked.length).toBeGreaterThanOrEqual(5);
    expect(asked.filter((call) => !call.canBlock)).toEqual([]);
  });

  it('§4.6 GET_RESYNC_WORK answers the backing log’s region and keeps it as the recovering region', () => {
    const { log } = resumedLog([0, 1]);
    expect(run(log.getResyncWork())).toEqual({ error: 0, result: 1, region: 2 });
    expect(log.recovering).toBe(2);
  });

  it('§4.6 GET_RESYNC_WORK with no work left answers {0, 0} and hands nothing out', () => {
    const { core } = spiedCoreLog(['1024', 'nosync']);
    const log = daemonLog(core);
    run(log.resume());
    expect(run(log.getResyncWork())).toEqual({ error: 0, result: 0, region: 0 });
    expect(log.recovering).toBeNull();
  });

  it('§4.6 GET_RESYNC_WORK passes a backing log’s error on, with no region, and hands nothing out', () => {
    const { log, core } = resumedLog();
    core.getResyncWork = () => immediate<ResyncWork>({ result: EIO, region: 3 });
    expect(run(log.getResyncWork())).toEqual({ error: EIO, result: 0, region: 0 });
    expect(log.recovering).toBeNull();
  });

  it('a backing log that hands out a region outside the log is a broken invariant', () => {
    for (const region of [-1, REGION_COUNT]) {
      const { log, core } = resumedLog();
      core.getResyncWork = () => immediate<ResyncWork>({ result: 1, region });
      expect(invariantMessage(() => run(log.getResyncWork()))).toBe(
        `backing log handed out region ${region} of ${REGION_COUNT}`,
      );
      expect(log.recovering).toBeNull();
    }
    const { log, core } = resumedLog();
    core.getResyncWork = () => immediate<ResyncWork>({ result: 1, region: REGION_COUNT - 1 });
    expect(run(log.getResyncWork())).toEqual({ error: 0, result: 1, region: REGION_COUNT - 1 });
  });

  it('§4.6 SET_REGION_SYNC settles the recovering region only when it names that region', () => {
    const { log } = resumedLog();
    expect(run(log.getResyncWork()).region).toBe(0);
    // An old duplicate for another region must not strand region 0 (unlike cmirrord).
    run(log.setRegionSync(3, false));
    expect(log.recovering).toBe(0);
    expect(run(log.getResyncWork())).toEqual({ error: 0, result: 1, region: 0 });
    run(log.setRegionSync(0, true));
    expect(log.recovering).toBeNull();
    expect(run(log.getResyncWork())).toEqual({ error: 0, result: 1, region: 1 });
  });

  it('§4.6 IS_REMOTE_RECOVERING before any PRESUSPEND answers from the sync bits (recovery_halted starts at 0)', () => {
    const { core } = spiedCoreLog();
    const log = daemonLog(core);
    expect(run(log.isRemoteRecovering(5))).toEqual({ recovering: 1, hint: 0 });
  });

  it('§4.6 the hint is sync_search - 1: 0 before any work, the region being recovered after each hand-out, the region count once the backing log has no more (34cbedcea)', () => {
    const { log } = resumedLog();
    expect(run(log.isRemoteRecovering(0))).toEqual({ recovering: 1, hint: 0 });
    run(log.setRegionSync(run(log.getResyncWork()).region, true));
    for (const region of [1, 2, 3]) {
      expect(run(log.getResyncWork())).toEqual({ error: 0, result: 1, region });
      // Asking about the region being recovered queues nothing, so the order is kept.
      expect(run(log.isRemoteRecovering(region))).toEqual({ recovering: 1, hint: region });
      run(log.setRegionSync(region, true));
    }
    const { core } = spiedCoreLog(['1024', 'nosync']);
    const synced = daemonLog(core);
    run(synced.resume());
    expect(run(synced.isRemoteRecovering(7))).toEqual({ recovering: 0, hint: 0 });
    expect(run(synced.getResyncWork())).toEqual({ error: 0, result: 0, region: 0 });
    expect(run(synced.isRemoteRecovering(7))).toEqual({ recovering: 0, hint: REGION_COUNT });
  });

  it('§4.6 a region asked about while out of sync is pulled forward: served before the cursor, newest first, and the cursor stays', () => {
    const { log } = resumedLog();
    expect(run(log.getResyncWork()).region).toBe(0);
    run(log.setRegionSync(0, true));
    // Asked about twice, region 6 is queued once; region 4 after it is served first.
    for (const region of [6, 6, 4]) expect(run(log.isRemoteRecovering(region)).recovering).toBe(1);
    expect(run(log.getResyncWork())).toEqual({ error: 0, result: 1, region: 4 });
    expect(run(log.isRemoteRecovering(0))).toEqual({ recovering: 0, hint: 0 });
    run(log.setRegionSync(4, true));
    expect(run(log.getResyncWork())).toEqual({ error: 0, result: 1, region: 6 });
    run(log.setRegionSync(6, true));
    expect(run(log.getResyncWork())).toEqual({ error: 0, result: 1, region: 1 });
  });

  it('§4.6 the region being recovered is not queued, and a queued region back in sync when its turn comes is skipped', () => {
    const { log } = resumedLog();
    expect(run(log.getResyncWork()).region).toBe(0);
    expect(run(log.isRemoteRecovering(0))).toEqual({ recovering: 1, hint: 0 });
    run(log.isRemoteRecovering(5));
    run(log.setRegionSync(0, true));
    // Region 5 is recovered some other way before its turn: the list skips it.
    run(log.setRegionSync(5, true));
    expect(run(log.getResyncWork())).toEqual({ error: 0, result: 1, region: 1 });
  });

  it('§4.6 a region set out of sync behind the cursor is below the hint, so the kernel lets writes to it through', () => {
    const { log } = resumedLog();
    for (let step = 0; step < 5; step++)
      run(log.setRegionSync(run(log.getResyncWork()).region, true));
    run(log.setRegionSync(2, false));
    expect(run(log.isRemoteRecovering(2))).toEqual({ recovering: 1, hint: 4 });
    // It was asked about, so it is pulled forward and recovered next.
    expect(run(log.getResyncWork())).toEqual({ error: 0, result: 1, region: 2 });
  });

  it('§4.6 once the cursor has passed the end there is no work, priority list or not (clog_get_resync_work checks sync_search first)', () => {
    const { log } = resumedLog();
    for (let step = 0; step < REGION_COUNT; step++) {
      run(log.setRegionSync(run(log.getResyncWork()).region, true));
    }
    expect(run(log.getResyncWork())).toEqual({ error: 0, result: 0, region: 0 });
    run(log.setRegionSync(3, false));
    // The last hand-out left the cursor at the region count, which already means "finished":
    // the backing log is not asked again, so the cursor never reaches region_count + 1.
    expect(run(log.isRemoteRecovering(3))).toEqual({ recovering: 1, hint: REGION_COUNT - 1 });
    expect(run(log.getResyncWork())).toEqual({ error: 0, result: 0, region: 0 });
    // The next resume rewinds the cursor, and region 3 is found again.
    run(log.presuspend());
    run(log.resume());
    expect(run(log.getResyncWork())).toEqual({ error: 0, result: 1, region: 3 });
  });

  it('§4.6 after PRESUSPEND IS_REMOTE_RECOVERING is {0, region count} and asks nothing; RESUME lifts it and rewinds the hint', () => {
    const { log, asked } = resumedLog();
    run(log.setRegionSync(run(log.getResyncWork()).region, true));
    run(log.getResyncWork());
    expect(run(log.isRemoteRecovering(5)).hint).toBe(1);
    run(log.presuspend());
    const from = asked.length;
    expect(run(log.isRemoteRecovering(5))).toEqual({ recovering: 0, hint: REGION_COUNT });
    expect(asked.length).toBe(from);
    run(log.resume());
    expect(run(log.isRemoteRecovering(5))).toEqual({ recovering: 1, hint: 0 });
  });
});

describe('DaemonLog: a resend after a lost reply (beyond clog_get_resync_work)', () => {
  it('the last region handed out is handed out again after the cursor passed the end, so a lost reply cannot strand it', () => {
    const { log } = resumedLog();
    for (let step = 0; step < REGION_COUNT - 1; step++) {
      run(log.setRegionSync(run(log.getResyncWork()).region, true));
    }
    expect(run(log.getResyncWork())).toEqual({ error: 0, result: 1, region: REGION_COUNT - 1 });
    // The reply is lost; the kernel resends with a new seq and must get the same region.
    expect(run(log.getResyncWork())).toEqual({ error: 0, result: 1, region: REGION_COUNT - 1 });
    run(log.setRegionSync(REGION_COUNT - 1, true));
    expect(run(log.getResyncWork())).toEqual({ error: 0, result: 0, region: 0 });
  });
});
