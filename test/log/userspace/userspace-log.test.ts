import { describe, expect, it, vi } from 'vitest';
import type { Blocking } from '../../../src/concurrency/blocking.js';
import { EINVAL, EIO, ESRCH, EWOULDBLOCK } from '../../../src/errno.js';
import { createDirtyLog } from '../../../src/log/registry.js';
import {
  buildUlogConstructor,
  decodeUlogRegionSync,
  encodeUlogCtrReply,
  encodeUlogRemoteRecovering,
  encodeUlogResyncWork,
  encodeUlogStatus,
  encodeUlogU64,
  ULOG_DEFERRED_FLUSH_TICKS,
  ULOG_RECONNECT_INTERVAL_TICKS,
  ULOG_REMOTE_RECOVERING_LIMIT_TICKS,
  type UlogConsultRequest,
  type UlogConsultResult,
  UlogRequestType,
  UlogTransfer,
  UserspaceLog,
} from '../../../src/log/userspace/index.js';
import { TableError } from '../../../src/table/table-error.js';
import { invariantMessage } from '../../assert-test-kit.js';
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

/** The private parts of a userspace log that the invariant tests corrupt. */
interface UserspaceLogInternals {
  markList: number[];
  integratedFlush: boolean;
}

function internals(log: UserspaceLog): UserspaceLogInternals {
  return log as unknown as UserspaceLogInternals;
}

/**
 * A transfer layer whose data-path answers a test may rewrite after the
 * real exchange. The real transfer checks every reply against its payload
 * rule, so only a transfer like this can hand the log a reply the codec
 * refuses, or data beside an error.
 */
class RewritingTransfer extends UlogTransfer {
  rewrite: ((request: UlogConsultRequest, result: UlogConsultResult) => UlogConsultResult) | null =
    null;

  override *consult(request: UlogConsultRequest): Blocking<UlogConsultResult> {
    const result = yield* super.consult(request);
    return this.rewrite === null ? result : this.rewrite(request, result);
  }
}

/** A live `CORE` log over a rewriting transfer on `harness`'s channel. */
function liveOverRewriting(harness: UserspaceHarness): {
  log: UserspaceLog;
  transfer: RewritingTransfer;
} {
  const transfer = new RewritingTransfer({
    scheduler: harness.world.scheduler,
    channel: harness.channel,
  });
  const context = { ...harness.context(), userspaceTransfer: () => transfer };
  const log = createDirtyLog('userspace', context, CORE) as UserspaceLog;
  expect(harness.run(log.resume())).toBe(0);
  return { log, transfer };
}

describe('the log’s own values and counters', () => {
  it('§2.3 §2.5 §2.7 a "userspace" log: HZ/4 is 250 000 ticks, the deferred flush 3 s, the reconnect sleep 2 s', () => {
    const harness = new UserspaceHarness();
    const log = harness.create(CORE);
    expect(log.typeName).toBe('userspace');
    expect(ULOG_REMOTE_RECOVERING_LIMIT_TICKS).toBe(250_000);
    expect(ULOG_DEFERRED_FLUSH_TICKS).toBe(3_000_000);
    expect(ULOG_RECONNECT_INTERVAL_TICKS).toBe(2_000_000);
  });

  it('§2.5 the rate-limit window is open until exactly 250 ms after it was opened', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    harness.channel.script = () => ({
      data: encodeUlogRemoteRecovering({ isRecovering: 0, inSyncHint: 0 }),
    });
    const opened = harness.world.scheduler.now();
    expect(harness.run(log.isRemoteRecovering(5))).toBe(0);
    expect(harness.transfer.remoteRecoveringLimitTicks).toBe(opened + 250_000);
    harness.world.scheduler.runUntilTime(opened + 249_999);
    expect(harness.run(log.isRemoteRecovering(5))).toBe(1);
    expect(harness.channel.ofType('IS_REMOTE_RECOVERING')).toHaveLength(1);
    harness.world.scheduler.runUntilTime(opened + 250_000);
    expect(harness.run(log.isRemoteRecovering(5))).toBe(0);
    expect(harness.channel.ofType('IS_REMOTE_RECOVERING')).toHaveLength(2);
  });

  it('§2.2 the stats count flushes with something to send apart from empty ones', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    log.markRegion(1);
    harness.run(log.flush());
    harness.run(log.flush());
    log.clearRegion(1);
    harness.run(log.flush());
    expect(log.stats).toEqual({
      flushes: 2,
      emptyFlushes: 1,
      clearsDropped: 0,
      deferredFlushesQueued: 0,
      deferredFlushesRun: 0,
      groupFallbacks: 0,
      reconnects: 0,
    });
  });

  it('§2.3 the deferred flush is a "ulog.deferred_flush" timer of 3 s; one that succeeds raises no event', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(INTEGRATED);
    const schedule = vi.spyOn(harness.world.scheduler, 'schedule');
    log.clearRegion(5);
    harness.run(log.flush());
    const deferred = schedule.mock.calls.filter(([, label]) => label === 'ulog.deferred_flush');
    expect(deferred.map(([delayTicks]) => delayTicks)).toEqual([3_000_000]);
    expect(log.stats.deferredFlushesQueued).toBe(1);
    expect(log.stats.deferredFlushesRun).toBe(1);
    expect(harness.events).toEqual([]);
  });
});

describe('region numbers are checked at the entry (RangeError)', () => {
  const message = (region: number) =>
    `Region ${region} is out of range for a 64-region userspace log: expected an integer from 0 to 63`;

  it('0 and regionCount - 1 are accepted; -1, regionCount and 1.5 are refused by every region call', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    expect(log.regionCount).toBe(64);
    log.markRegion(0);
    log.markRegion(63);
    log.clearRegion(0);
    log.clearRegion(63);
    expect(log.queued).toEqual({ marks: [0, 63], clears: [0, 63] });
    expect(harness.start(log.inSync(63, false)).value).toBe(EWOULDBLOCK);
    const from = harness.channel.seen.length;
    const calls: ReadonlyArray<(region: number) => unknown> = [
      (region) => log.markRegion(region),
      (region) => log.clearRegion(region),
      (region) => log.inSync(region, false),
      (region) => harness.run(log.isClean(region)),
      (region) => harness.run(log.setRegionSync(region, true)),
      (region) => harness.run(log.isRemoteRecovering(region)),
    ];
    for (const call of calls) {
      for (const region of [-1, 64, 1.5]) {
        expect(() => call(region)).toThrow(new RangeError(message(region)));
      }
    }
    expect(log.queued).toEqual({ marks: [0, 63], clears: [0, 63] });
    expect(harness.channel.seen.length).toBe(from);
  });
});

describe('get_sync_count, get_resync_work and is_remote_recovering answer checks (§2.5, §2.6)', () => {
  it('§2.5 a sync count one short of the region count leaves in_sync_hint alone', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    harness.channel.script = (request) =>
      request.requestType === UlogRequestType.GET_SYNC_COUNT
        ? { data: encodeUlogU64(log.regionCount - 1) }
        : undefined;
    expect(harness.run(log.getSyncCount())).toBe(63);
    expect(log.inSyncHint).toBe(0);
    harness.channel.script = null;
    harness.run(log.getResyncWork());
    expect(harness.channel.ofType('GET_RESYNC_WORK')).toHaveLength(1);
  });

  it('§2.6 a u64 count above 2^53 - 1 reads as 2^53 - 1; up to it, exactly', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    let count = 0n;
    harness.channel.script = () => ({ data: encodeUlogU64(count) });
    count = BigInt(Number.MAX_SAFE_INTEGER) - 1n;
    expect(harness.run(log.getSyncCount())).toBe(Number.MAX_SAFE_INTEGER - 1);
    count = BigInt(Number.MAX_SAFE_INTEGER);
    expect(harness.run(log.getSyncCount())).toBe(Number.MAX_SAFE_INTEGER);
    count = BigInt(Number.MAX_SAFE_INTEGER) + 1n;
    expect(harness.run(log.getSyncCount())).toBe(Number.MAX_SAFE_INTEGER);
    count = (1n << 64n) - 1n;
    expect(harness.run(log.getSyncCount())).toBe(Number.MAX_SAFE_INTEGER);
    // The same clamp applies to the in_sync_hint an IS_REMOTE_RECOVERING reply carries.
    harness.channel.script = null;
    harness.run(log.resume());
    expect(log.inSyncHint).toBe(0);
    harness.channel.script = () => ({
      data: encodeUlogRemoteRecovering({ isRecovering: 0, inSyncHint: 1n << 60n }),
    });
    harness.run(log.isRemoteRecovering(0));
    expect(log.inSyncHint).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('§2.6 a daemon answering "no work" (result 0) gives region -1, whatever region it sent', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    harness.channel.script = () => ({ data: encodeUlogResyncWork({ result: 0, region: 5 }) });
    expect(harness.run(log.getResyncWork())).toEqual({ result: 0, region: -1 });
    expect(harness.transfer.messages.all).toEqual([]);
  });

  it('§2.6 a result other than 0 or 1, or a region past the end, is refused with a message', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    const answers: ReadonlyArray<readonly [bigint, bigint]> = [
      [2n, 3n],
      [-1n, 3n],
      [1n, 64n],
    ];
    for (const [result, region] of answers) {
      harness.channel.script = () => ({ data: encodeUlogResyncWork({ result, region }) });
      expect(harness.run(log.getResyncWork())).toEqual({ result: EINVAL, region: -1 });
    }
    expect(harness.transfer.messages.all.map(({ level, text }) => `${level}: ${text}`)).toEqual([
      'error: Bad resync work from userspace: {2, 3}',
      'error: Bad resync work from userspace: {-1, 3}',
      'error: Bad resync work from userspace: {1, 64}',
    ]);
    harness.channel.script = () => ({ data: encodeUlogResyncWork({ result: 1, region: 63 }) });
    expect(harness.run(log.getResyncWork())).toEqual({ result: 1, region: 63 });
  });

  it('§2.5 a region equal to in_sync_hint may still be recovering: the daemon is asked', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    harness.channel.script = () => ({
      data: encodeUlogRemoteRecovering({ isRecovering: 1, inSyncHint: 10 }),
    });
    expect(harness.run(log.isRemoteRecovering(30))).toBe(1);
    expect(log.inSyncHint).toBe(10);
    harness.transfer.remoteRecoveringLimitTicks = 0;
    expect(harness.run(log.isRemoteRecovering(10))).toBe(1);
    expect(harness.channel.ofType('IS_REMOTE_RECOVERING')).toHaveLength(2);
  });
});

describe('status INFO over a transfer that hands back odd replies (§2.6)', () => {
  it('§2.6 an error is COM_FAILURE even with data beside it', () => {
    const harness = new UserspaceHarness();
    const { log, transfer } = liveOverRewriting(harness);
    transfer.rewrite = (request, result) =>
      request.requestType === UlogRequestType.STATUS_INFO
        ? { error: EIO, data: encodeUlogStatus('3 core 1024 A') }
        : result;
    expect(harness.run(log.status('info'))).toBe('userspace 1 COM_FAILURE');
  });

  it('a status text the codec refuses reads as COM_FAILURE; any other failure is not swallowed', () => {
    const harness = new UserspaceHarness();
    const { log, transfer } = liveOverRewriting(harness);
    transfer.rewrite = (request, result) =>
      request.requestType === UlogRequestType.STATUS_INFO
        ? { error: 0, data: Uint8Array.of(0x41, 0x00, 0x42) }
        : result;
    expect(harness.run(log.status('info'))).toBe('userspace 1 COM_FAILURE');
    transfer.rewrite = (request, result) =>
      request.requestType === UlogRequestType.STATUS_INFO
        ? { error: 0, data: null as unknown as Uint8Array }
        : result;
    expect(() => harness.run(log.status('info'))).toThrow(TypeError);
  });
});

describe('clears in userspace_flush (§2.2)', () => {
  it('§2.2 a failed clear group falls back to one region per request, as marks do', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    log.clearRegion(1);
    log.clearRegion(2);
    const from = harness.channel.seen.length;
    harness.channel.script = (request) =>
      request.requestType === UlogRequestType.CLEAR_REGION && request.data.length > 8
        ? { error: EIO }
        : undefined;
    expect(harness.run(log.flush())).toBe(0);
    expect(harness.channel.summary(from)).toEqual([
      'CLEAR_REGION[2,1]',
      'CLEAR_REGION[1]',
      'CLEAR_REGION[2]',
      'FLUSH',
    ]);
    expect(log.stats.groupFallbacks).toBe(1);
    expect(harness.events).toEqual([]);
  });

  it('§2.2 when the clears fail, the marks and the FLUSH are not sent', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    log.markRegion(3);
    log.clearRegion(4);
    const from = harness.channel.seen.length;
    harness.channel.script = (request) =>
      request.requestType === UlogRequestType.CLEAR_REGION ? { error: EIO } : undefined;
    expect(harness.run(log.flush())).toBe(EIO);
    expect(harness.channel.summary(from)).toEqual(['CLEAR_REGION[4]', 'CLEAR_REGION[4]']);
    expect(harness.events).toEqual(['userspace log flush failed: EIO']);
  });
});

describe('reconnect messages and timers (§2.7)', () => {
  it('§2.7 the kernel lines of a reconnect, and its "ulog.reconnect" timer of 2 s', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    const schedule = vi.spyOn(harness.world.scheduler, 'schedule');
    let ctrs = 0;
    let first = true;
    harness.channel.script = (request) => {
      if (request.requestType === UlogRequestType.IS_CLEAN && first) {
        first = false;
        return 'no-listener';
      }
      if (request.requestType === UlogRequestType.CTR) return ++ctrs < 2 ? 'no-listener' : {};
      return undefined;
    };
    harness.run(log.isClean(0));
    const reconnect = schedule.mock.calls.filter(([, label]) => label === 'ulog.reconnect');
    expect(reconnect.map(([delayTicks]) => delayTicks)).toEqual([2_000_000, 2_000_000]);
    expect(
      harness.transfer.messages.all
        .filter(({ text }) => !text.startsWith('Unable to send'))
        .map(({ level, text }) => `${level}: ${text}`),
    ).toEqual([
      'error:  Userspace log server not found.',
      'warning: Attempting to contact userspace log server...',
      'warning: Attempting to contact userspace log server...',
      'info: Reconnected to userspace log server... DM_ULOG_CTR complete',
    ]);
    expect(log.stats.reconnects).toBe(1);
  });

  it('§2.7 a failed RESUME after the reconnect is logged with its errno', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    let first = true;
    harness.channel.script = (request) => {
      if (request.requestType === UlogRequestType.IS_CLEAN && first) {
        first = false;
        return 'no-listener';
      }
      if (request.requestType === UlogRequestType.CTR) return {};
      if (request.requestType === UlogRequestType.RESUME) return { error: EIO };
      return undefined;
    };
    expect(harness.run(log.isClean(0))).toBe(0);
    expect(harness.transfer.messages.all.at(-1)).toMatchObject({
      level: 'error',
      text: 'Error trying to resume userspace log: -5',
    });
    expect(log.stats.reconnects).toBe(0);
  });
});

describe('invariants of the userspace log (InvariantError)', () => {
  it('a region size of 0 cannot build a log', () => {
    const harness = new UserspaceHarness();
    const ctr = buildUlogConstructor(CORE, 64 * 1024);
    const setup = {
      context: harness.context(),
      transfer: harness.transfer,
      ctr,
      luid: 1n,
      logDeviceName: null,
    };
    expect(invariantMessage(() => new UserspaceLog({ ...setup, regionSizeSectors: 0 }))).toBe(
      'region size must be positive',
    );
    expect(new UserspaceLog({ ...setup, regionSizeSectors: 1 }).regionCount).toBe(64 * 1024);
  });

  it('destroying twice, or a request after destroy, is a bug', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    harness.run(log.destroy());
    expect(invariantMessage(() => harness.run(log.isClean(0)))).toBe(
      `request ${UlogRequestType.IS_CLEAN} on a destroyed userspace log`,
    );
    expect(invariantMessage(() => harness.run(log.destroy()))).toBe(
      'userspace log uuid-a destroyed twice',
    );
  });

  it('an integrated flush on a log built without its deferred work is a bug', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    internals(log).integratedFlush = true;
    log.markRegion(1);
    expect(invariantMessage(() => harness.run(log.flush()))).toBe(
      'integrated flush without its deferred work',
    );
  });

  it('a list that grows while flush_by_group sends it is a bug (entries would be lost)', () => {
    const harness = new UserspaceHarness();
    const log = harness.live(CORE);
    log.markRegion(1);
    const list = internals(log).markList;
    harness.start(log.flush());
    // The MARK_REGION is in flight: the list flush took is still this array.
    expect(harness.channel.summary().at(-1)).toBe('MARK_REGION[1]');
    list.push(2);
    expect(invariantMessage(() => harness.world.scheduler.runUntilIdle())).toBe(
      'flush_by_group lost entries',
    );
  });
});
