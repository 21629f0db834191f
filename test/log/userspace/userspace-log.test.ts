import { describe, expect, it } from 'vitest';
import { EINVAL, EIO, ESRCH, EWOULDBLOCK } from '../../../src/errno.js';
import { createDirtyLog } from '../../../src/log/registry.js';
import {
  decodeUlogRegionSync,
  encodeUlogCtrReply,
  encodeUlogRemoteRecovering,
  encodeUlogResyncWork,
  encodeUlogStatus,
  encodeUlogU64,
  ULOG_DEFERRED_FLUSH_TICKS,
  ULOG_RECONNECT_INTERVAL_TICKS,
  ULOG_REMOTE_RECOVERING_LIMIT_TICKS,
  UlogRequestType,
  UserspaceLog,
} from '../../../src/log/userspace/index.js';
import { TableError } from '../../../src/table/table-error.js';
import { UserspaceHarness } from './userspace-test-kit.js';

const CORE = ['uuid-a', 'core', '1024'];
const INTEGRATED = ['uuid-a', 'integrated_flush', 'core', '1024'];

function text(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

describe('userspace_ctr (§2.1)', () => {
  it('§2.1 sends CTR with the device length first and no NUL, then GET_REGION_SIZE', () => {
    const harness = new UserspaceHarness();
    const log = harness.create(['uuid-a', 'core', '1024', 'nosync'], 5000);
    expect(harness.channel.types()).toEqual(['CTR', 'GET_REGION_SIZE']);
    const ctr = harness.channel.seen[0]!.request;
    expect(text(ctr.data)).toBe('5000 core 1024 nosync');
    expect(ctr.uuid).toBe('uuid-a');
    expect(ctr.luid).toBe(log.luid);
    expect(log.regionSizeSectors).toBe(1024);
    expect(log.regionCount).toBe(5); // ceil(5000 / 1024)
    expect(log.integratedFlush).toBe(false);
  });

  it('§2.1 integrated_flush (any case) is taken out of the CTR string and kept in the table', () => {
    const harness = new UserspaceHarness();
    const log = harness.create(['uuid-a', 'Integrated_FLUSH', 'core', '1024'], 4096);
    expect(log.integratedFlush).toBe(true);
    expect(text(harness.channel.seen[0]!.request.data)).toBe('4096 core 1024');
    expect(harness.run(log.status('table'))).toBe('userspace 4 uuid-a integrated_flush core 1024 ');
  });

  it('§2.1 each log instance gets its own luid, so two tables can share a uuid', () => {
    const harness = new UserspaceHarness();
    const first = harness.create(CORE);
    const second = harness.create(CORE);
    expect(first.luid).not.toBe(second.luid);
    expect(harness.channel.daemon.logCount).toBe(2);
  });

  it('§2.1 too few arguments, or a uuid over 128 characters, is a TableError before any request', () => {
    const harness = new UserspaceHarness();
    expect(() => harness.create(['uuid-a', 'core'])).toThrow(/Too few arguments/);
    expect(() => harness.create(['u'.repeat(129), 'core', '1024'])).toThrow(TableError);
    expect(harness.channel.seen).toHaveLength(0);
  });

  it('§2.1 a daemon that refuses the CTR, or is absent, fails the constructor', () => {
    const harness = new UserspaceHarness();
    expect(() => harness.create(['uuid-a', 'core', '1000'])).toThrow(
      /Failed to register with userspace server.*EINVAL/,
    );
    harness.channel.script = () => 'no-listener';
    expect(() => harness.create(CORE)).toThrow(/answered ESRCH/);
  });

  it('§2.1 the region size is the low 32 bits of the daemon’s u64; zero or not a power of two is refused', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = (request) =>
      request.requestType === UlogRequestType.GET_REGION_SIZE
        ? { data: encodeUlogU64((1n << 32n) + 512n) }
        : undefined;
    expect(harness.create(CORE).regionSizeSectors).toBe(512);
    harness.channel.script = (request) =>
      request.requestType === UlogRequestType.GET_REGION_SIZE
        ? { data: encodeUlogU64(1000) }
        : undefined;
    expect(() => harness.create(CORE)).toThrow(/region size 1000.*power of two/);
  });

  it('§1.3 §2.1 a device name in the CTR reply is opened with dm_get_device', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = (request) => {
      if (request.requestType === UlogRequestType.CTR) return { data: encodeUlogCtrReply('253:2') };
      return { data: encodeUlogU64(1024) };
    };
    const log = harness.create(CORE);
    expect(log.logDeviceName).toBe('253:2');
    expect(harness.openedDevices).toEqual(['253:2']);
  });

  it('without a transfer layer in the context the log cannot be built', () => {
    const harness = new UserspaceHarness();
    const { userspaceTransfer: _omitted, ...context } = harness.context();
    expect(() => createDirtyLog('userspace', context, CORE)).toThrow(/cannot reach a log daemon/);
  });
});

describe('marks, clears and userspace_flush (§2.2)', () => {
  it('§2.2 marks and clears are only queued; a flush with nothing queued sends nothing, not even FLUSH', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    const before = harness.channel.seen.length;
    log.markRegion(3);
    log.clearRegion(4);
    expect(harness.channel.seen.length).toBe(before);
    expect(log.queued).toEqual({ marks: [3], clears: [4] });
    harness.run(log.flush());
    const afterFirst = harness.channel.seen.length;
    expect(harness.run(log.flush())).toBe(0);
    expect(harness.channel.seen.length).toBe(afterFirst);
    expect(log.stats.emptyFlushes).toBe(1);
  });

  it('§2.2 clears go first, then marks, then one payload-less FLUSH; each list newest first', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    const from = harness.channel.seen.length;
    log.markRegion(10);
    log.markRegion(11);
    log.clearRegion(20);
    log.clearRegion(21);
    expect(harness.run(log.flush())).toBe(0);
    expect(harness.channel.summary(from)).toEqual([
      'CLEAR_REGION[21,20]',
      'MARK_REGION[11,10]',
      'FLUSH',
    ]);
  });

  it('§2.2 groups hold at most 32 regions (MAX_FLUSH_GROUP_COUNT)', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    const from = harness.channel.seen.length;
    for (let region = 0; region < 40; region++) log.markRegion(region);
    harness.run(log.flush());
    const marks = harness.channel.ofType('MARK_REGION');
    expect(marks.map((seen) => seen.request.data.length / 8)).toEqual([32, 8]);
    expect(harness.channel.types(from)).toEqual(['MARK_REGION', 'MARK_REGION', 'FLUSH']);
  });

  it('§2.2 a failed group falls back to one region per request, earlier groups included, and stops at the first failure', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    for (let region = 0; region < 34; region++) log.markRegion(region);
    const from = harness.channel.seen.length;
    let groupsSeen = 0;
    harness.channel.script = (request) => {
      if (request.requestType !== UlogRequestType.MARK_REGION) return undefined;
      if (request.data.length > 8) return ++groupsSeen === 2 ? { error: EIO } : undefined;
      // One by one: the third single request fails.
      const singles = harness.channel
        .ofType('MARK_REGION')
        .filter((s) => s.request.data.length === 8);
      return singles.length === 3 ? { error: EIO } : undefined;
    };
    expect(harness.run(log.flush())).toBe(EIO);
    const summary = harness.channel.summary(from);
    // Newest first: group 1 is regions 33..2, group 2 is 1,0 (it fails).
    expect(summary[0]).toBe(
      `MARK_REGION[${Array.from({ length: 32 }, (_, i) => 33 - i).join(',')}]`,
    );
    expect(summary[1]).toBe('MARK_REGION[1,0]');
    // tmp_list holds everything taken so far, in reverse: 0, 1, 2, 3, … one by one.
    expect(summary.slice(2)).toEqual(['MARK_REGION[0]', 'MARK_REGION[1]', 'MARK_REGION[2]']);
    expect(log.stats.groupFallbacks).toBe(1);
    expect(harness.events).toEqual(['userspace log flush failed: EIO']);
  });

  it('§2.2 entries are dropped after a failure: the next flush does not resend them', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    log.markRegion(1);
    harness.channel.script = (request) =>
      request.requestType === UlogRequestType.FLUSH ? { error: EIO } : undefined;
    expect(harness.run(log.flush())).toBe(EIO);
    const after = harness.channel.seen.length;
    expect(harness.run(log.flush())).toBe(0);
    expect(harness.channel.seen.length).toBe(after);
  });

  it('§2.2 with integrated flush the marks ride in FLUSH, one FLUSH per group, and no MARK_REGION', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(INTEGRATED);
    const from = harness.channel.seen.length;
    for (let region = 0; region < 40; region++) log.markRegion(region);
    log.clearRegion(50);
    harness.run(log.flush());
    expect(harness.channel.types(from)).toEqual(['CLEAR_REGION', 'FLUSH', 'FLUSH']);
    expect(harness.channel.ofType('FLUSH').map((s) => s.request.data.length / 8)).toEqual([32, 8]);
    expect(harness.channel.ofType('MARK_REGION')).toHaveLength(0);
    expect(log.deferredFlushScheduled).toBe(false);
  });

  it('§2.2 a failed integrated FLUSH just stops: no one-by-one fallback', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(INTEGRATED);
    for (let region = 0; region < 40; region++) log.markRegion(region);
    const from = harness.channel.seen.length;
    harness.channel.script = (request) =>
      request.requestType === UlogRequestType.FLUSH ? { error: EIO } : undefined;
    expect(harness.run(log.flush())).toBe(EIO);
    expect(harness.channel.types(from)).toEqual(['FLUSH']);
    expect(harness.events).toHaveLength(1);
  });

  it('§2.2 a clear whose allocation fails (injected) is dropped; the default is that none fail', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    log.clearRegion(1);
    log.clearAllocationFails = (region) => region === 2;
    log.clearRegion(2);
    log.clearRegion(3);
    expect(log.queued.clears).toEqual([1, 3]);
    expect(log.stats.clearsDropped).toBe(1);
    expect(harness.transfer.messages.count('Failed to allocate memory to clear region.')).toBe(1);
  });
});

describe('the deferred flush of clear-only batches (§2.3)', () => {
  it('§2.3 a clear-only integrated flush sends the clears now and the FLUSH 3 s later', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(INTEGRATED);
    const from = harness.channel.seen.length;
    log.clearRegion(5);
    const start = harness.world.scheduler.now();
    harness.run(log.flush());
    expect(harness.channel.types(from)).toEqual(['CLEAR_REGION', 'FLUSH']);
    const flush = harness.channel.ofType('FLUSH').at(-1)!;
    expect(flush.request.data.length).toBe(0);
    expect(flush.timeTicks - start).toBeGreaterThanOrEqual(ULOG_DEFERRED_FLUSH_TICKS);
    expect(log.stats.deferredFlushesRun).toBe(1);
    expect(log.deferredFlushScheduled).toBe(false);
  });

  it('§2.3 (inference) a second clear-only flush while one is scheduled cancels it and sends none', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(INTEGRATED);
    const from = harness.channel.seen.length;
    log.clearRegion(5);
    harness.start(log.flush());
    harness.world.scheduler.runUntil(() => !log.queued.clears.length && log.deferredFlushScheduled);
    expect(log.deferredFlushScheduled).toBe(true);
    log.clearRegion(6);
    harness.run(log.flush());
    expect(harness.channel.types(from)).toEqual(['CLEAR_REGION', 'CLEAR_REGION']);
    expect(log.deferredFlushScheduled).toBe(false);
    expect(log.stats.deferredFlushesQueued).toBe(1);
    expect(log.stats.deferredFlushesRun).toBe(0);
  });

  it('§2.3 a flush carrying marks cancels a pending deferred flush', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(INTEGRATED);
    log.clearRegion(5);
    harness.start(log.flush());
    harness.world.scheduler.runUntil(() => log.deferredFlushScheduled);
    const from = harness.channel.seen.length;
    log.markRegion(7);
    harness.run(log.flush());
    expect(harness.channel.summary(from)).toEqual(['FLUSH[7]']);
    expect(log.stats.deferredFlushesRun).toBe(0);
  });

  it('§2.3 postsuspend runs a pending deferred flush at once, before POSTSUSPEND', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(INTEGRATED);
    log.clearRegion(5);
    harness.start(log.flush());
    harness.world.scheduler.runUntil(() => log.deferredFlushScheduled);
    const from = harness.channel.seen.length;
    const start = harness.world.scheduler.now();
    harness.run(log.postsuspend());
    expect(harness.channel.types(from)).toEqual(['FLUSH', 'POSTSUSPEND']);
    expect(harness.channel.seen[from]!.timeTicks - start).toBeLessThan(ULOG_DEFERRED_FLUSH_TICKS);
  });

  it('§2.3 the destructor runs a pending deferred flush, then DTR', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(INTEGRATED);
    log.clearRegion(5);
    harness.start(log.flush());
    harness.world.scheduler.runUntil(() => log.deferredFlushScheduled);
    const from = harness.channel.seen.length;
    harness.run(log.destroy());
    expect(harness.channel.types(from)).toEqual(['FLUSH', 'DTR']);
    expect(harness.channel.daemon.logCount).toBe(0);
  });

  it('§2.3 a deferred FLUSH that fails raises a table event', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(INTEGRATED);
    harness.channel.script = (request) =>
      request.requestType === UlogRequestType.FLUSH ? { error: EIO } : undefined;
    log.clearRegion(5);
    harness.run(log.flush());
    expect(harness.events).toEqual(['userspace log deferred flush failed: EIO']);
  });
});

describe('in_sync, is_remote_recovering and the conservative answers (§2.4–§2.6)', () => {
  it('§2.4 in_sync without blocking answers EWOULDBLOCK at once and sends nothing', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    const from = harness.channel.seen.length;
    const probe = harness.start(log.inSync(0, false));
    expect(probe).toEqual({ done: true, value: EWOULDBLOCK });
    expect(harness.channel.seen.length).toBe(from);
  });

  it('§2.4 in_sync that may block asks the daemon every time (no cache) and gives 0 on failure', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(['uuid-a', 'core', '1024', 'nosync']);
    expect(harness.run(log.inSync(1, true))).toBe(1);
    expect(harness.run(log.inSync(1, true))).toBe(1);
    expect(harness.channel.ofType('IN_SYNC')).toHaveLength(2);
    harness.channel.script = () => ({ error: EIO });
    expect(harness.run(log.inSync(1, true))).toBe(0);
  });

  it('§2.6 is_clean and get_sync_count answer 0 on failure', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(['uuid-a', 'core', '1024', 'nosync']);
    expect(harness.run(log.isClean(2))).toBe(1);
    expect(harness.run(log.getSyncCount())).toBe(log.regionCount);
    harness.channel.script = () => ({ error: EIO });
    expect(harness.run(log.isClean(2))).toBe(0);
    expect(harness.run(log.getSyncCount())).toBe(0);
  });

  it('§2.5 §2.6 a full sync count moves in_sync_hint to the end: get_resync_work then answers 0 without asking', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    harness.run(log.resume());
    expect(harness.run(log.getResyncWork())).toEqual({ result: 1, region: 0 });
    harness.channel.script = (request) =>
      request.requestType === UlogRequestType.GET_SYNC_COUNT
        ? { data: encodeUlogU64(log.regionCount) }
        : undefined;
    harness.run(log.getSyncCount());
    expect(log.inSyncHint).toBe(log.regionCount);
    const from = harness.channel.seen.length;
    expect(harness.run(log.getResyncWork())).toEqual({ result: 0, region: -1 });
    expect(harness.channel.seen.length).toBe(from);
  });

  it('§2.6 get_resync_work passes the daemon’s answer and error; a region past the end is refused', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    harness.channel.script = () => ({ data: encodeUlogResyncWork({ result: 1, region: 9 }) });
    expect(harness.run(log.getResyncWork())).toEqual({ result: 1, region: 9 });
    harness.channel.script = () => ({ error: EIO });
    expect(harness.run(log.getResyncWork())).toEqual({ result: EIO, region: -1 });
    harness.channel.script = () => ({
      data: encodeUlogResyncWork({ result: 1, region: log.regionCount }),
    });
    expect(harness.run(log.getResyncWork()).result).toBe(EINVAL);
  });

  it('§1.4 set_region_sync sends {region, in_sync} and ignores a failure', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    harness.channel.script = () => ({ error: EIO });
    harness.run(log.setRegionSync(6, true));
    const sent = harness.channel.ofType('SET_REGION_SYNC')[0]!.request;
    expect(decodeUlogRegionSync(sent.data)).toEqual({ region: 6n, inSync: 1n });
  });

  it('§2.5 is_remote_recovering: 0 below in_sync_hint without asking; the reply’s hint is kept', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    harness.channel.script = () => ({
      data: encodeUlogRemoteRecovering({ isRecovering: 0, inSyncHint: 10 }),
    });
    expect(harness.run(log.isRemoteRecovering(30))).toBe(0);
    expect(log.inSyncHint).toBe(10);
    const from = harness.channel.seen.length;
    expect(harness.run(log.isRemoteRecovering(9))).toBe(0);
    expect(harness.channel.seen.length).toBe(from);
  });

  it('§2.5 inside the HZ/4 window it answers 1 without asking; after it, asks again', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    harness.channel.script = () => ({
      data: encodeUlogRemoteRecovering({ isRecovering: 0, inSyncHint: 0 }),
    });
    expect(harness.run(log.isRemoteRecovering(5))).toBe(0);
    expect(harness.run(log.isRemoteRecovering(5))).toBe(1);
    expect(harness.channel.ofType('IS_REMOTE_RECOVERING')).toHaveLength(1);
    harness.world.scheduler.runUntilTime(
      harness.world.scheduler.now() + ULOG_REMOTE_RECOVERING_LIMIT_TICKS,
    );
    expect(harness.run(log.isRemoteRecovering(5))).toBe(0);
    expect(harness.channel.ofType('IS_REMOTE_RECOVERING')).toHaveLength(2);
  });

  it('§2.5 the rate-limit window is shared by every userspace log on one kernel, not by other kernels', () => {
    const harness = new UserspaceHarness();
    const first = harness.live(['uuid-a', 'core', '1024']);
    const second = harness.live(['uuid-b', 'core', '1024']);
    harness.channel.script = () => ({
      data: encodeUlogRemoteRecovering({ isRecovering: 0, inSyncHint: 0 }),
    });
    expect(harness.run(first.isRemoteRecovering(5))).toBe(0);
    // The other log finds the window open: "assume recovering", without asking.
    expect(harness.run(second.isRemoteRecovering(5))).toBe(1);
    expect(harness.channel.ofType('IS_REMOTE_RECOVERING')).toHaveLength(1);
    const elsewhere = new UserspaceHarness();
    const third = elsewhere.create(['uuid-c', 'core', '1024']);
    elsewhere.channel.script = harness.channel.script;
    expect(elsewhere.run(third.isRemoteRecovering(5))).toBe(0);
  });

  it('§2.5 a failed is_remote_recovering answers 1; resume resets in_sync_hint', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    harness.channel.script = () => ({ error: EIO });
    expect(harness.run(log.isRemoteRecovering(5))).toBe(1);
    harness.channel.script = () => ({
      data: encodeUlogRemoteRecovering({ isRecovering: 0, inSyncHint: 50 }),
    });
    harness.transfer.remoteRecoveringLimitTicks = 0;
    harness.run(log.isRemoteRecovering(60));
    expect(log.inSyncHint).toBe(50);
    harness.channel.script = null;
    harness.run(log.resume());
    expect(log.inSyncHint).toBe(0);
  });

  it('§2.6 status INFO comes from the daemon; on failure it is "userspace 1 COM_FAILURE"; TABLE is local', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(['uuid-a', 'disk', 'log9', '1024']);
    expect(harness.run(log.status('info'))).toBe('3 disk log9 A');
    harness.channel.script = () => ({ error: EIO });
    expect(harness.run(log.status('info'))).toBe('userspace 1 COM_FAILURE');
    const from = harness.channel.seen.length;
    expect(harness.run(log.status('table'))).toBe('userspace 4 uuid-a disk log9 1024 ');
    expect(harness.channel.seen.length).toBe(from);
    harness.channel.script = () => ({ data: encodeUlogStatus('2 custom x') });
    expect(harness.run(log.status('info'))).toBe('2 custom x');
  });
});

describe('errors and daemon restart: userspace_do_request (§2.7)', () => {
  it('§2.7 -ESRCH starts the reconnect loop: every 2 s a CTR with its NUL until one succeeds, then RESUME, then the request again', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    const from = harness.channel.seen.length;
    // The daemon is gone for the first IN_SYNC and two CTRs; the third CTR finds a new one.
    let refusals = 0;
    harness.channel.script = (request) => {
      if (request.requestType === UlogRequestType.IN_SYNC && refusals === 0) {
        refusals++;
        return 'no-listener';
      }
      if (request.requestType === UlogRequestType.CTR) return refusals++ < 3 ? 'no-listener' : {};
      return undefined;
    };
    const start = harness.world.scheduler.now();
    expect(harness.run(log.inSync(0, true))).toBe(0);
    expect(harness.channel.types(from)).toEqual([
      'IN_SYNC',
      'CTR',
      'CTR',
      'CTR',
      'RESUME',
      'IN_SYNC',
    ]);
    const ctrs = harness.channel.ofType('CTR').slice(1);
    expect(ctrs.map((seen) => seen.timeTicks - start)).toEqual([
      ULOG_RECONNECT_INTERVAL_TICKS,
      2 * ULOG_RECONNECT_INTERVAL_TICKS,
      3 * ULOG_RECONNECT_INTERVAL_TICKS,
    ]);
    expect(text(ctrs[0]!.request.data)).toBe('65536 core 1024\u0000');
    expect(log.stats.reconnects).toBe(1);
    expect(harness.transfer.messages.count('Userspace log server not found.')).toBe(1);
  });

  it('§2.7 (inference) a reconnect CTR answered -EINVAL (cmirrord: "Log already exists") loops every 2 s forever', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    let first = true;
    harness.channel.script = (request) => {
      if (request.requestType === UlogRequestType.IN_SYNC && first) {
        first = false;
        return 'no-listener';
      }
      if (request.requestType === UlogRequestType.CTR) return { error: EINVAL };
      return undefined;
    };
    const from = harness.channel.seen.length;
    const probe = harness.start(log.inSync(0, true));
    // Each CTR's -EINVAL reply takes 10 ticks before the next 2 s sleep starts.
    harness.world.scheduler.runUntilTime(10 * ULOG_RECONNECT_INTERVAL_TICKS + 1000);
    expect(probe.done).toBe(false);
    expect(harness.channel.types(from).filter((type) => type === 'CTR')).toHaveLength(10);
    expect(harness.channel.types(from)).not.toContain('RESUME');
  });

  it('§2.7 a failed RESUME after the reconnect gives -ESRCH to the caller', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    let first = true;
    harness.channel.script = (request) => {
      if (request.requestType === UlogRequestType.FLUSH && first) {
        first = false;
        return 'no-listener';
      }
      if (request.requestType === UlogRequestType.CTR) return {};
      if (request.requestType === UlogRequestType.RESUME) return { error: EIO };
      return undefined;
    };
    log.markRegion(0);
    expect(harness.run(log.flush())).toBe(ESRCH);
    expect(harness.events).toEqual(['userspace log flush failed: ESRCH']);
  });

  it('§2.7 only -ESRCH reconnects: another error goes straight back to the caller', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    const from = harness.channel.seen.length;
    harness.channel.script = () => ({ error: EINVAL });
    log.markRegion(0);
    expect(harness.run(log.flush())).toBe(EINVAL);
    expect(harness.channel.types(from)).not.toContain('CTR');
  });

  it('§2.7 presuspend, postsuspend and resume go to the transfer layer directly, without reconnecting', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    harness.channel.script = () => 'no-listener';
    const from = harness.channel.seen.length;
    expect(harness.run(log.presuspend())).toBe(ESRCH);
    expect(harness.run(log.postsuspend())).toBe(ESRCH);
    expect(harness.run(log.resume())).toBe(ESRCH);
    expect(harness.channel.types(from)).toEqual(['PRESUSPEND', 'POSTSUSPEND', 'RESUME']);
  });

  it('§2.7 a daemon that lost the log answers -ESRCH, and the log re-registers itself', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(['uuid-a', 'core', '1024', 'nosync']);
    // The daemon forgets the log, as a restarted daemon would.
    harness.run(
      harness.channel.daemon.handle({
        ...harness.channel.seen[0]!.request,
        requestType: UlogRequestType.DTR,
        data: new Uint8Array(0),
      }),
    );
    expect(harness.channel.daemon.logCount).toBe(0);
    expect(harness.run(log.getSyncCount())).toBe(log.regionCount);
    expect(harness.channel.daemon.logCount).toBe(1);
    expect(log).toBeInstanceOf(UserspaceLog);
    expect(harness.channel.types().slice(-4)).toEqual([
      'GET_SYNC_COUNT',
      'CTR',
      'RESUME',
      'GET_SYNC_COUNT',
    ]);
  });
});
