import { afterEach, describe, expect, it } from 'vitest';
import { ulogMachineOf } from '../../../sim/userspace/ulog-machine.js';
import { World } from '../../../sim/world.js';
import { type Blocking, immediate, spawn } from '../../../src/concurrency/blocking.js';
import { EINVAL, EIO, ENOSPC, ESRCH, EWOULDBLOCK } from '../../../src/errno.js';
import { TICKS_PER_MILLISECOND } from '../../../src/world/scheduler.js';
import { invariantMessage } from '../../assert-test-kit.js';
import '../../../src/log/builtin-logs.js';
import { coreLogType } from '../../../src/log/core-log.js';
import type { DirtyLog, DirtyLogContext, ResyncWork } from '../../../src/log/dirty-log.js';
import { readDiskLogImage } from '../../../src/log/disk-log-format.js';
import {
  createDirtyLog,
  registerDirtyLogType,
  unregisterDirtyLogType,
} from '../../../src/log/registry.js';
import {
  decodeUlogRemoteRecovering,
  decodeUlogResyncWork,
  decodeUlogS64,
  decodeUlogStatus,
  decodeUlogU64,
  encodeUlogCtrRequest,
  encodeUlogRegionSync,
  encodeUlogRegions,
  encodeUlogU64,
  UlogDaemon,
  type UlogRequest,
  UlogRequestType,
  type UlogRequestTypeCode,
  USERSPACE_LOG_TYPE_NAME,
} from '../../../src/log/userspace/index.js';

const UUID = 'daemon-test';

class DaemonHarness {
  readonly world = new World({ seed: 3 });
  readonly messages: string[] = [];
  /** Every device a backing log opened, with the size the daemon asked for. */
  readonly deviceRequests: { name: string; minimumSizeSectors: number }[] = [];
  readonly daemon: UlogDaemon;
  private seq = 0;

  constructor(
    options: {
      readonly regionsMax?: number;
      readonly deviceSizeSectorsFor?: (targetLengthSectors: number) => number;
    } = {},
  ) {
    this.daemon = new UlogDaemon({
      scheduler: this.world.scheduler,
      getDevice: (name, minimumSizeSectors) => {
        this.deviceRequests.push({ name, minimumSizeSectors });
        return (
          this.world.devices.find((device) => device.name === name) ??
          this.world.createDevice({ name, sizeSectors: minimumSizeSectors })
        );
      },
      onMessage: (text) => this.messages.push(text),
      ...(options.regionsMax === undefined ? {} : { regionsMax: options.regionsMax }),
      ...(options.deviceSizeSectorsFor === undefined
        ? {}
        : { deviceSizeSectorsFor: options.deviceSizeSectorsFor }),
    });
  }

  /** Sends one request and runs the world until its reply is ready. */
  send(
    requestType: UlogRequestTypeCode,
    data: Uint8Array = new Uint8Array(0),
    luid = 1n,
    uuid = UUID,
  ): UlogRequest {
    const request: UlogRequest = {
      luid,
      uuid,
      version: 3,
      error: 0,
      seq: this.seq++,
      requestType,
      data,
    };
    let reply: UlogRequest | undefined;
    // Backing disk logs do I/O: the world runs until the handler returns.
    spawn(this.daemon.handle(request), (value) => {
      reply = value;
    });
    this.world.scheduler.runUntilIdle();
    expect(reply, 'the handler finished').toBeDefined();
    return reply as UlogRequest;
  }

  ctr(ctrString: string, luid = 1n, uuid = UUID): number {
    return this.send(UlogRequestType.CTR, encodeUlogCtrRequest(ctrString), luid, uuid).error;
  }
}

const regions = (...list: number[]) => encodeUlogRegions(list);

/** What a `scripted` backing log does instead of its core log, and what it saw. */
interface BackingScript {
  /** The can_block flag of every in_sync the daemon asked. */
  readonly canBlockFlags: boolean[];
  isClean?: DirtyLog['isClean'];
  inSync?: DirtyLog['inSync'];
  getResyncWork?: DirtyLog['getResyncWork'];
}

/**
 * Registers the `scripted` log type: a core log of 1024-sector regions
 * (`<length> scripted [nosync]`, no region-size word) whose calls a test may
 * replace. Like a `userspace` backing log (§2.4), its in_sync answers
 * -EWOULDBLOCK without can_block.
 */
function registerScriptedLog(): BackingScript {
  const script: BackingScript = { canBlockFlags: [] };
  registerDirtyLogType({
    name: 'scripted',
    summary: 'test',
    create: (context, args) => {
      const log = coreLogType.create(context, ['1024', ...args]);
      const core = { isClean: log.isClean.bind(log), inSync: log.inSync.bind(log) };
      const getResyncWork = log.getResyncWork.bind(log);
      log.isClean = (region) => (script.isClean ?? core.isClean)(region);
      log.inSync = (region, canBlock) => {
        script.canBlockFlags.push(canBlock);
        if (!canBlock) return immediate(EWOULDBLOCK);
        return (script.inSync ?? core.inSync)(region, canBlock);
      };
      log.getResyncWork = () => (script.getResyncWork ?? getResyncWork)();
      return log;
    },
  });
  return script;
}

/** The clean bits of the first `regionCount` regions as the disk log device durably holds them. */
function durableCleanBits(
  harness: DaemonHarness,
  deviceName: string,
  regionCount: number,
): number[] {
  const image = readDiskLogImage(harness.world.device(deviceName).durableContent, regionCount);
  return Array.from({ length: regionCount }, (_, region) => image.cleanBits.test(region));
}

afterEach(() => {
  unregisterDirtyLogType('spy-context');
  unregisterDirtyLogType('huge-status');
  unregisterDirtyLogType('scripted');
});

describe('the daemon request handler (§4.2, §4.6)', () => {
  it('§4.2 CTR builds a log of the type the string names, from its length and arguments', () => {
    const harness = new DaemonHarness();
    expect(harness.ctr('8192 core 1024')).toBe(0);
    const log = harness.daemon.findLog(UUID, 1n);
    expect(log?.backing.typeName).toBe('core');
    expect(log?.regionCount).toBe(8);
    const size = harness.send(UlogRequestType.GET_REGION_SIZE);
    expect(decodeUlogU64(size.data)).toBe(1024n);
  });

  it('§4.2 a CTR repeating a log’s own string succeeds (unlike cmirrord); another string for its uuid and luid is refused; another luid is another log', () => {
    const harness = new DaemonHarness();
    expect(harness.ctr('8192 core 1024')).toBe(0);
    expect(harness.ctr('8192 core 1024')).toBe(0);
    expect(harness.daemon.logCount).toBe(1);
    expect(harness.ctr('8192 core 512')).toBe(EINVAL);
    expect(harness.ctr('8192 core 1024', 2n)).toBe(0);
    expect(harness.daemon.logCount).toBe(2);
    expect(harness.messages.some((m) => m.includes('Log already exists'))).toBe(true);
  });

  it('a bad CTR string, an unknown type or bad arguments are -EINVAL, and the daemon serves on', () => {
    const harness = new DaemonHarness();
    expect(harness.ctr('lots core 1024')).toBe(EINVAL);
    expect(harness.ctr('8192 nosuchlog 1024')).toBe(EINVAL);
    expect(harness.ctr('8192 core 1000')).toBe(EINVAL);
    expect(harness.ctr('8192 userspace x core 1024')).toBe(EINVAL);
    expect(harness.daemon.logCount).toBe(0);
    expect(harness.ctr('8192 core 1024')).toBe(0);
  });

  it('the reply echoes the request header with error and data set', () => {
    const harness = new DaemonHarness();
    harness.ctr('8192 core 1024', 5n);
    const reply = harness.send(UlogRequestType.GET_SYNC_COUNT, undefined, 5n);
    expect(reply).toMatchObject({ luid: 5n, uuid: UUID, version: 3, error: 0 });
    expect(reply.requestType).toBe(UlogRequestType.GET_SYNC_COUNT);
    expect(decodeUlogU64(reply.data)).toBe(0n);
  });

  it('data-path requests for a log built but not yet resumed are answered -ESRCH; GET_SYNC_COUNT and status are not', () => {
    const harness = new DaemonHarness();
    harness.ctr('8192 core 1024');
    expect(harness.send(UlogRequestType.IN_SYNC, encodeUlogU64(1)).error).toBe(ESRCH);
    expect(harness.send(UlogRequestType.FLUSH).error).toBe(ESRCH);
    expect(harness.send(UlogRequestType.GET_SYNC_COUNT).error).toBe(0);
    expect(harness.send(UlogRequestType.STATUS_INFO).error).toBe(0);
    harness.send(UlogRequestType.RESUME);
    expect(harness.send(UlogRequestType.IN_SYNC, encodeUlogU64(1)).error).toBe(0);
  });

  it('a second RESUME without a suspend does nothing; after POSTSUSPEND it resumes again', () => {
    const harness = new DaemonHarness();
    harness.ctr('8192 core 1024');
    harness.send(UlogRequestType.RESUME);
    harness.send(UlogRequestType.GET_RESYNC_WORK);
    // A repeat would rewind core_resume's cursor and forget the handed-out region.
    harness.send(UlogRequestType.RESUME);
    expect(harness.daemon.findLog(UUID, 1n)?.recovering).toBe(0);
    harness.send(UlogRequestType.PRESUSPEND);
    harness.send(UlogRequestType.POSTSUSPEND);
    expect(harness.daemon.findLog(UUID, 1n)?.state).toBe('suspended');
    harness.send(UlogRequestType.RESUME);
    expect(harness.daemon.findLog(UUID, 1n)?.recovering).toBeNull();
    expect(harness.daemon.findLog(UUID, 1n)?.state).toBe('resumed');
  });

  it('a request for a log the daemon does not know is answered -ESRCH (so the kernel reconnects)', () => {
    const harness = new DaemonHarness();
    expect(harness.send(UlogRequestType.FLUSH).error).toBe(ESRCH);
    harness.ctr('8192 core 1024');
    expect(harness.send(UlogRequestType.DTR).error).toBe(0);
    expect(harness.send(UlogRequestType.FLUSH).error).toBe(ESRCH);
    expect(harness.daemon.stats.errorReplies).toBe(2);
  });

  it('§4.6 a region at or past the region count is -EINVAL, and nothing of the list is applied', () => {
    const harness = new DaemonHarness();
    harness.ctr('8192 core 1024 nosync');
    harness.send(UlogRequestType.RESUME);
    expect(harness.send(UlogRequestType.MARK_REGION, regions(1, 8)).error).toBe(EINVAL);
    expect(decodeUlogS64(harness.send(UlogRequestType.IS_CLEAN, encodeUlogU64(1)).data)).toBe(1n);
    expect(harness.send(UlogRequestType.IN_SYNC, encodeUlogU64(8)).error).toBe(EINVAL);
    expect(harness.send(UlogRequestType.IS_REMOTE_RECOVERING, encodeUlogU64(9)).error).toBe(EINVAL);
    expect(
      harness.send(UlogRequestType.SET_REGION_SYNC, encodeUlogRegionSync({ region: 8, inSync: 1 }))
        .error,
    ).toBe(EINVAL);
  });

  it('§2.2 §1.3 an integrated FLUSH marks and makes the marks durable in one request', () => {
    const harness = new DaemonHarness();
    harness.ctr('8192 disk log0 1024');
    harness.send(UlogRequestType.RESUME);
    // Recover everything so the regions are in sync and clean.
    for (let region = 0; region < 8; region++) {
      harness.send(UlogRequestType.GET_RESYNC_WORK);
      harness.send(UlogRequestType.SET_REGION_SYNC, encodeUlogRegionSync({ region, inSync: 1 }));
    }
    harness.send(UlogRequestType.CLEAR_REGION, regions(0, 1, 2, 3, 4, 5, 6, 7));
    harness.send(UlogRequestType.FLUSH);
    const clean = () => durableCleanBits(harness, 'log0', 8);
    expect(clean()).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(harness.send(UlogRequestType.FLUSH, regions(3, 5)).error).toBe(0);
    expect(clean()).toEqual([1, 1, 1, 0, 1, 0, 1, 1]);
  });

  it('§4.6 a clear sets the clean bit only where the region is in sync', () => {
    const harness = new DaemonHarness();
    harness.ctr('8192 core 1024');
    harness.send(UlogRequestType.RESUME);
    harness.send(UlogRequestType.MARK_REGION, regions(2));
    harness.send(UlogRequestType.CLEAR_REGION, regions(2));
    expect(decodeUlogS64(harness.send(UlogRequestType.IS_CLEAN, encodeUlogU64(2)).data)).toBe(0n);
    harness.send(UlogRequestType.SET_REGION_SYNC, encodeUlogRegionSync({ region: 2, inSync: 1 }));
    harness.send(UlogRequestType.CLEAR_REGION, regions(2));
    expect(decodeUlogS64(harness.send(UlogRequestType.IS_CLEAN, encodeUlogU64(2)).data)).toBe(1n);
  });

  it('§4.6 GET_RESYNC_WORK gives the same region again until SET_REGION_SYNC settles it', () => {
    const harness = new DaemonHarness();
    harness.ctr('8192 core 1024');
    harness.send(UlogRequestType.RESUME);
    const work = () => decodeUlogResyncWork(harness.send(UlogRequestType.GET_RESYNC_WORK).data);
    expect(work()).toEqual({ result: 1n, region: 0n });
    expect(work()).toEqual({ result: 1n, region: 0n });
    harness.send(UlogRequestType.SET_REGION_SYNC, encodeUlogRegionSync({ region: 0, inSync: 1 }));
    expect(work()).toEqual({ result: 1n, region: 1n });
  });

  it('§4.6 SET_REGION_SYNC(r, 1) twice is harmless: the sync count stays right', () => {
    const harness = new DaemonHarness();
    harness.ctr('8192 core 1024');
    harness.send(UlogRequestType.RESUME);
    harness.send(UlogRequestType.GET_RESYNC_WORK);
    const sync = encodeUlogRegionSync({ region: 0, inSync: 1 });
    expect(harness.send(UlogRequestType.SET_REGION_SYNC, sync).error).toBe(0);
    expect(harness.send(UlogRequestType.SET_REGION_SYNC, sync).error).toBe(0);
    expect(decodeUlogU64(harness.send(UlogRequestType.GET_SYNC_COUNT).data)).toBe(1n);
    const bad = encodeUlogRegionSync({ region: 1, inSync: 2 });
    expect(harness.send(UlogRequestType.SET_REGION_SYNC, bad).error).toBe(EINVAL);
  });

  it('§4.6 IS_REMOTE_RECOVERING: any region not in sync is "recovering"; the hint is sync_search - 1; {0, count} after PRESUSPEND', () => {
    const harness = new DaemonHarness();
    harness.ctr('8192 core 1024');
    harness.send(UlogRequestType.RESUME);
    for (const region of [0, 1, 2]) {
      harness.send(UlogRequestType.GET_RESYNC_WORK);
      harness.send(UlogRequestType.SET_REGION_SYNC, encodeUlogRegionSync({ region, inSync: 1 }));
    }
    const ask = (region: number) =>
      decodeUlogRemoteRecovering(
        harness.send(UlogRequestType.IS_REMOTE_RECOVERING, encodeUlogU64(region)).data,
      );
    expect(ask(1)).toEqual({ isRecovering: 0n, inSyncHint: 2n });
    expect(ask(5)).toEqual({ isRecovering: 1n, inSyncHint: 2n });
    harness.send(UlogRequestType.PRESUSPEND);
    expect(ask(5)).toEqual({ isRecovering: 0n, inSyncHint: 8n });
    harness.send(UlogRequestType.RESUME);
    expect(ask(5).isRecovering).toBe(1n);
  });

  it('STATUS_INFO and STATUS_TABLE are the backing log’s; a status too long for the kernel is -ENOSPC', () => {
    const harness = new DaemonHarness();
    harness.ctr('8192 disk log7 1024');
    expect(decodeUlogStatus(harness.send(UlogRequestType.STATUS_INFO).data)).toBe('3 disk log7 A');
    expect(decodeUlogStatus(harness.send(UlogRequestType.STATUS_TABLE).data)).toBe(
      'disk 2 log7 1024 ',
    );
    registerDirtyLogType({
      name: 'huge-status',
      summary: 'test',
      create: (context, args) => {
        const log = coreLogType.create(context, args);
        log.status = () => immediate('x'.repeat(2000));
        return log;
      },
    });
    harness.ctr('8192 huge-status 1024', 9n);
    expect(harness.send(UlogRequestType.STATUS_INFO, undefined, 9n).error).toBe(ENOSPC);
    // The status encoder refuses it, before any reply is built.
    expect(harness.messages.at(-1)).toMatch(
      /^refused 15 seq \d+: Status text "x+…?" is 2000 bytes: expected at most 864$/,
    );
  });

  it('backing logs get no leg flush callback: a daemon cannot flush the kernel’s legs', () => {
    const harness = new DaemonHarness();
    let captured: DirtyLogContext | undefined;
    registerDirtyLogType({
      name: 'spy-context',
      summary: 'test',
      create: (context, args) => {
        captured = context;
        return coreLogType.create(context, args);
      },
    });
    expect(harness.ctr('8192 spy-context 1024')).toBe(0);
    expect(captured?.flushCallback).toBeNull();
    expect(captured?.targetLengthSectors).toBe(8192);
    expect(captured?.scheduler).toBe(harness.world.scheduler);
  });

  it('with a region limit, a CTR for too many regions is refused before anything is allocated', () => {
    const harness = new DaemonHarness({ regionsMax: 1000 });
    expect(harness.ctr('1024000 core 1024')).toBe(0);
    expect(harness.ctr('1025024 core 1024 nosync', 2n)).toBe(EINVAL);
    expect(harness.ctr('4194304000 core 2', 3n)).toBe(EINVAL);
    expect(harness.daemon.logCount).toBe(1);
  });

  it('counts every request by its type code (index 0 unused) and every reply with an error', () => {
    const harness = new DaemonHarness();
    const counts = new Array<number>(18).fill(0);
    expect(harness.daemon.stats.requestsByType).toEqual(counts);
    expect(harness.daemon.stats.errorReplies).toBe(0);
    harness.ctr('8192 core 1024');
    harness.send(UlogRequestType.RESUME);
    harness.send(UlogRequestType.IN_SYNC, encodeUlogU64(0));
    expect(harness.send(UlogRequestType.IN_SYNC, encodeUlogU64(8)).error).toBe(EINVAL);
    expect(harness.send(UlogRequestType.IN_SYNC, encodeUlogU64(1), 7n).error).toBe(ESRCH);
    harness.send(UlogRequestType.IS_REMOTE_RECOVERING, encodeUlogU64(1));
    counts[UlogRequestType.CTR] = 1;
    counts[UlogRequestType.RESUME] = 1;
    counts[UlogRequestType.IN_SYNC] = 3;
    counts[UlogRequestType.IS_REMOTE_RECOVERING] = 1;
    expect(harness.daemon.stats.requestsByType).toEqual(counts);
    expect(harness.daemon.stats.errorReplies).toBe(2);
  });

  it('§4.1 with luid 0 a request goes to the first log of its uuid (cmirrord’s get_log); with a luid, to that log only', () => {
    const harness = new DaemonHarness();
    harness.ctr('8192 core 1024', 3n, 'uuid-a');
    harness.ctr('8192 core 2048', 4n, 'uuid-b');
    harness.ctr('8192 core 512', 5n, 'uuid-b');
    expect(harness.daemon.findLog('uuid-a', 0n)?.luid).toBe(3n);
    expect(harness.daemon.findLog('uuid-b', 0n)?.luid).toBe(4n);
    expect(harness.daemon.findLog('uuid-c', 0n)).toBeUndefined();
    expect(harness.daemon.findLog('uuid-b', 5n)?.luid).toBe(5n);
    expect(harness.daemon.findLog('uuid-b', 3n)).toBeUndefined();
    const size = harness.send(UlogRequestType.GET_REGION_SIZE, undefined, 0n, 'uuid-b');
    expect(decodeUlogU64(size.data)).toBe(2048n);
    expect(harness.send(UlogRequestType.GET_REGION_SIZE, undefined, 0n, 'uuid-c').error).toBe(
      ESRCH,
    );
  });

  it('a request whose payload cannot be decoded is refused with a note, and the daemon serves on', () => {
    const harness = new DaemonHarness();
    harness.ctr('8192 core 1024');
    harness.send(UlogRequestType.RESUME);
    const reply = harness.send(UlogRequestType.MARK_REGION, new Uint8Array(12));
    expect(reply.error).toBe(EINVAL);
    expect(reply.data.length).toBe(0);
    expect(harness.messages).toEqual([
      'refused 10 seq 2: Region list payload is 12 bytes: expected a multiple of 8',
    ]);
    expect(harness.daemon.stats.errorReplies).toBe(1);
    expect(harness.send(UlogRequestType.MARK_REGION, regions(1)).error).toBe(0);
  });

  it('§1.4 region 0 is a region like any other: IS_CLEAN, IN_SYNC and IS_REMOTE_RECOVERING answer it with data', () => {
    const harness = new DaemonHarness();
    harness.ctr('8192 core 1024');
    harness.send(UlogRequestType.RESUME);
    expect(decodeUlogS64(harness.send(UlogRequestType.IS_CLEAN, encodeUlogU64(0)).data)).toBe(1n);
    expect(decodeUlogS64(harness.send(UlogRequestType.IN_SYNC, encodeUlogU64(0)).data)).toBe(0n);
    const recovering = harness.send(UlogRequestType.IS_REMOTE_RECOVERING, encodeUlogU64(0));
    expect(decodeUlogRemoteRecovering(recovering.data)).toEqual({
      isRecovering: 1n,
      inSyncHint: 0n,
    });
  });

  it('§4.6 IS_CLEAN answers the clean bit and IN_SYNC the sync bit', () => {
    const harness = new DaemonHarness();
    harness.ctr('8192 core 1024 nosync');
    harness.send(UlogRequestType.RESUME);
    harness.send(UlogRequestType.MARK_REGION, regions(2));
    const ask = (type: UlogRequestTypeCode, region: number) =>
      decodeUlogS64(harness.send(type, encodeUlogU64(region)).data);
    expect(ask(UlogRequestType.IS_CLEAN, 2)).toBe(0n);
    expect(ask(UlogRequestType.IN_SYNC, 2)).toBe(1n);
    harness.ctr('8192 core 1024', 2n);
    harness.send(UlogRequestType.RESUME, undefined, 2n);
    expect(decodeUlogS64(harness.send(UlogRequestType.IS_CLEAN, encodeUlogU64(2), 2n).data)).toBe(
      1n,
    );
    expect(decodeUlogS64(harness.send(UlogRequestType.IN_SYNC, encodeUlogU64(2), 2n).data)).toBe(
      0n,
    );
  });

  it('§2.4 IN_SYNC asks the backing log with can_block set, as the kernel sends it only when it may block', () => {
    const script = registerScriptedLog();
    const harness = new DaemonHarness();
    expect(harness.ctr('8192 scripted nosync')).toBe(0);
    harness.send(UlogRequestType.RESUME);
    const reply = harness.send(UlogRequestType.IN_SYNC, encodeUlogU64(4));
    expect(reply.error).toBe(0);
    expect(decodeUlogS64(reply.data)).toBe(1n);
    expect(script.canBlockFlags).toEqual([true]);
  });

  it('§4.6 a backing log’s error for IS_CLEAN or IN_SYNC is the reply’s error, with no data', () => {
    const script = registerScriptedLog();
    const harness = new DaemonHarness();
    harness.ctr('8192 scripted');
    harness.send(UlogRequestType.RESUME);
    script.isClean = () => immediate(EIO);
    script.inSync = () => immediate(EIO);
    for (const type of [UlogRequestType.IS_CLEAN, UlogRequestType.IN_SYNC]) {
      const reply = harness.send(type, encodeUlogU64(3));
      expect(reply.error).toBe(EIO);
      expect(reply.data.length).toBe(0);
    }
    expect(harness.daemon.stats.errorReplies).toBe(2);
  });

  it('§4.6 GET_RESYNC_WORK answers a region, {0, 0} with no work left, and a backing log’s error without data', () => {
    const script = registerScriptedLog();
    const harness = new DaemonHarness();
    harness.ctr('8192 scripted');
    harness.send(UlogRequestType.RESUME);
    const work = () => harness.send(UlogRequestType.GET_RESYNC_WORK);
    expect(decodeUlogResyncWork(work().data)).toEqual({ result: 1n, region: 0n });
    harness.send(UlogRequestType.SET_REGION_SYNC, encodeUlogRegionSync({ region: 0, inSync: 1 }));
    script.getResyncWork = () => immediate<ResyncWork>({ result: EIO, region: 0 });
    const failed = work();
    expect(failed.error).toBe(EIO);
    expect(failed.data.length).toBe(0);
    harness.ctr('8192 core 1024 nosync', 2n);
    harness.send(UlogRequestType.RESUME, undefined, 2n);
    const none = harness.send(UlogRequestType.GET_RESYNC_WORK, undefined, 2n);
    expect(none.error).toBe(0);
    expect(decodeUlogResyncWork(none.data)).toEqual({ result: 0n, region: 0n });
    expect(harness.daemon.findLog(UUID, 2n)?.recovering).toBeNull();
  });

  it('§4.6 SET_REGION_SYNC with in_sync 0 takes a region out of sync; in_sync other than 0 or 1, or a region past the log, is -EINVAL', () => {
    const harness = new DaemonHarness();
    harness.ctr('8192 core 1024');
    harness.send(UlogRequestType.RESUME);
    const setSync = (region: number, inSync: number) =>
      harness.send(UlogRequestType.SET_REGION_SYNC, encodeUlogRegionSync({ region, inSync })).error;
    const inSyncOf = (region: number) =>
      decodeUlogS64(harness.send(UlogRequestType.IN_SYNC, encodeUlogU64(region)).data);
    const syncCount = () => decodeUlogU64(harness.send(UlogRequestType.GET_SYNC_COUNT).data);
    expect(setSync(5, 1)).toBe(0);
    expect(inSyncOf(5)).toBe(1n);
    expect(syncCount()).toBe(1n);
    expect(setSync(5, 0)).toBe(0);
    expect(inSyncOf(5)).toBe(0n);
    expect(syncCount()).toBe(0n);
    expect(setSync(5, 2)).toBe(EINVAL);
    expect(setSync(5, -1)).toBe(EINVAL);
    expect(setSync(8, 0)).toBe(EINVAL);
    expect(syncCount()).toBe(0n);
  });

  it('a request type the region dispatcher does not know is a broken invariant (decoding refuses it first)', () => {
    const harness = new DaemonHarness();
    harness.ctr('8192 core 1024');
    harness.send(UlogRequestType.RESUME);
    expect(invariantMessage(() => harness.send(18 as UlogRequestTypeCode))).toBe(
      'request type 18 reached the region dispatcher',
    );
  });

  it('§4.6 MARK_REGION only clears clean bits: a disk log writes them at the next FLUSH', () => {
    const harness = new DaemonHarness();
    harness.ctr('8192 disk log0 1024 nosync');
    harness.send(UlogRequestType.RESUME);
    harness.send(UlogRequestType.FLUSH);
    const clean = () => durableCleanBits(harness, 'log0', 8);
    expect(clean()).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(harness.send(UlogRequestType.MARK_REGION, regions(3, 6)).error).toBe(0);
    expect(clean()).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(harness.send(UlogRequestType.FLUSH).error).toBe(0);
    expect(clean()).toEqual([1, 1, 1, 0, 1, 1, 0, 1]);
  });

  it('a refused CTR leaves a note naming the uuid and the reason', () => {
    const harness = new DaemonHarness({ regionsMax: 1000 });
    expect(harness.ctr('1025024 core 1024')).toBe(EINVAL);
    expect(harness.ctr('8192 core 1000', 2n)).toBe(EINVAL);
    expect(harness.ctr('8192 nosuchlog 1024', 3n, 'other-uuid')).toBe(EINVAL);
    expect(harness.messages[0]).toBe('CTR of "daemon-test" refused: more than 1000 regions');
    expect(harness.messages[1]).toBe(
      'CTR of "daemon-test" refused: Invalid region size "1000": expected a power of two from 2 to 8192 sectors (the target length)',
    );
    expect(harness.messages[2]).toMatch(
      /^CTR of "other-uuid" refused: Unknown dirty log type "nosuchlog": expected one of /,
    );
    expect(harness.messages).toHaveLength(3);
  });

  it('the region limit estimates with the first all-digit argument: a device name with digits is not a region size', () => {
    const harness = new DaemonHarness({ regionsMax: 1000 });
    for (const [luid, device] of [
      [1n, '253:3'],
      [2n, 'x12'],
      [3n, '12x'],
    ] as const) {
      expect(harness.ctr(`1024000 disk ${device} 2`, luid)).toBe(EINVAL);
    }
    expect(harness.messages).toEqual(
      new Array(3).fill('CTR of "daemon-test" refused: more than 1000 regions'),
    );
    expect(harness.deviceRequests).toEqual([]);
    expect(harness.ctr('1024000 disk 253:3 1024', 4n)).toBe(0);
    expect(harness.daemon.logCount).toBe(1);
  });

  it('a CTR with no all-digit argument counts as 0 regions: a limit of 0 lets it through, a negative one refuses it', () => {
    registerScriptedLog();
    const open = new DaemonHarness({ regionsMax: 0 });
    expect(open.ctr('8192 scripted')).toBe(0);
    expect(open.ctr('8192 core 1024', 2n)).toBe(EINVAL);
    const closed = new DaemonHarness({ regionsMax: -1 });
    expect(closed.ctr('8192 scripted')).toBe(EINVAL);
    expect(closed.messages).toEqual(['CTR of "daemon-test" refused: more than -1 regions']);
  });

  it('a log device is created big enough for a disk log at 2-sector regions, or at the log’s own need if larger', () => {
    const harness = new DaemonHarness();
    const sizes: Record<string, number> = {};
    // 1024-byte header plus the bitmap in 64-bit words of ceil(length / 2) regions, in sectors.
    for (const length of [128, 8192, 8193, 16384, 16385, 524288]) {
      expect(harness.ctr(`${length} disk log-${length} 128`, BigInt(length))).toBe(0);
      sizes[length] = harness.world.device(`log-${length}`).sizeSectors;
    }
    expect(sizes).toEqual({ 128: 3, 8192: 3, 8193: 4, 16384: 4, 16385: 5, 524288: 66 });
    expect(harness.deviceRequests.map((request) => request.minimumSizeSectors)).toEqual([
      3, 3, 4, 4, 5, 66,
    ]);
    const small = new DaemonHarness({ deviceSizeSectorsFor: () => 1 });
    expect(small.ctr('524288 disk log0 2')).toBe(0);
    expect(small.deviceRequests).toEqual([{ name: 'log0', minimumSizeSectors: 66 }]);
  });

  it('a backing log’s table event (a disk log’s failed device) becomes a daemon note', () => {
    const harness = new DaemonHarness();
    harness.ctr('8192 disk log0 1024');
    harness.send(UlogRequestType.RESUME);
    harness.world.device('log0').faults.fail({ writes: true });
    expect(harness.send(UlogRequestType.FLUSH, regions(1)).error).toBe(EIO);
    expect(harness.messages).toEqual(['event: dirty log device "log0" failed']);
  });
});

describe('liveness of a region that goes out of sync behind the resync cursor (cmirrord §4.6)', () => {
  /**
   * The kernel's own loop over the simple daemon: a `userspace` log of 8
   * regions through the machine's transfer layer and simulated daemon, and
   * kmirrord's passes as dm-raid1 makes them: `do_recovery` (GET_RESYNC_WORK,
   * then SET_REGION_SYNC(r, 1) once the copy is done) and `do_writes`, which
   * requeues a write to a region while `is_remote_recovering` says 1 and
   * wakes again 200 ms later (§2.5).
   */
  function kernelOverSimpleDaemon(backing: string) {
    const world = new World({ seed: 5 });
    const machine = ulogMachineOf(world);
    const log = createDirtyLog(
      USERSPACE_LOG_TYPE_NAME,
      {
        scheduler: world.scheduler,
        targetLengthSectors: 8 * 1024,
        flushCallback: null,
        getDevice: (name, minimumSizeSectors = 1) => world.openDevice(name, minimumSizeSectors),
        raiseEvent: () => {},
        userspaceTransfer: () => machine.transfer(),
      },
      ['liveness-uuid', ...backing.split(' ')],
    );
    const call = <T>(task: Blocking<T>): T => {
      let result: { value: T } | null = null;
      spawn(task, (value) => {
        result = { value };
      });
      world.scheduler.runUntil(() => result !== null, { stepsMax: 100_000 });
      expect(result, 'the kernel call finished').not.toBeNull();
      return (result as unknown as { value: T }).value;
    };
    /**
     * `ms->in_sync`: dm-raid1's do_recovery asks GET_SYNC_COUNT on every pass
     * until the count is full (which also sets the kernel's in_sync_hint to
     * the region count, §2.5), then stops asking.
     */
    let mirrorInSync = false;
    /** One kmirrord pass: recover one region if there is work, then try the write to `region`. */
    const pass = (region: number | null): boolean => {
      const work = call(log.getResyncWork());
      if (work.result === 1) call(log.setRegionSync(work.region, true));
      if (!mirrorInSync) mirrorInSync = call(log.getSyncCount()) === 8;
      const requeued = region !== null && call(log.isRemoteRecovering!(region)) === 1;
      world.scheduler.runFor(200 * TICKS_PER_MILLISECOND);
      return requeued;
    };
    return { log, call, pass };
  }

  it('§4.6 (cmirrord: hint sync_search - 1) a write to a region set out of sync behind the resync cursor goes through instead of requeueing forever', () => {
    for (const backing of ['core 1024', 'disk log0 1024']) {
      const { log, call, pass } = kernelOverSimpleDaemon(backing);
      expect(call(log.resume())).toBe(0);
      // The initial resync recovers regions 0 to 4; the resync cursor stands at 5.
      for (let step = 0; step < 5; step++) pass(null);
      // A leg failure marks region 2 out of sync (dm_rh_mark_nosync → set_region_sync(2, 0)).
      call(log.setRegionSync(2, false));
      let passes = 0;
      while (pass(2) && passes < 20) passes++;
      expect(passes, `${backing}: passes the write to region 2 was requeued`).toBeLessThan(20);
    }
  });
});
