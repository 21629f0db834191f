import { afterEach, describe, expect, it } from 'vitest';
import { World } from '../../../sim/world.js';
import { immediate, spawn } from '../../../src/concurrency/blocking.js';
import { EINVAL, ENOSPC, ESRCH } from '../../../src/errno.js';
import '../../../src/log/builtin-logs.js';
import { coreLogType } from '../../../src/log/core-log.js';
import type { DirtyLogContext } from '../../../src/log/dirty-log.js';
import { readDiskLogImage } from '../../../src/log/disk-log-format.js';
import { registerDirtyLogType, unregisterDirtyLogType } from '../../../src/log/registry.js';
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
} from '../../../src/log/userspace/index.js';

const UUID = 'daemon-test';

class DaemonHarness {
  readonly world = new World({ seed: 3 });
  readonly messages: string[] = [];
  readonly daemon: UlogDaemon;
  private seq = 0;

  constructor(options: { readonly regionsMax?: number } = {}) {
    this.daemon = new UlogDaemon({
      scheduler: this.world.scheduler,
      getDevice: (name, minimumSizeSectors) =>
        this.world.devices.find((device) => device.name === name) ??
        this.world.createDevice({ name, sizeSectors: minimumSizeSectors }),
      onMessage: (text) => this.messages.push(text),
      ...(options.regionsMax === undefined ? {} : { regionsMax: options.regionsMax }),
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

afterEach(() => {
  unregisterDirtyLogType('spy-context');
  unregisterDirtyLogType('huge-status');
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
    const device = harness.world.device('log0');
    const clean = () => {
      const image = readDiskLogImage(device.durableContent, 8);
      return Array.from({ length: 8 }, (_, region) => image.cleanBits.test(region));
    };
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

  it('§4.6 IS_REMOTE_RECOVERING: any region not in sync is "recovering"; the hint is the first such; {0, count} after PRESUSPEND', () => {
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
    expect(ask(1)).toEqual({ isRecovering: 0n, inSyncHint: 3n });
    expect(ask(5)).toEqual({ isRecovering: 1n, inSyncHint: 3n });
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
});
