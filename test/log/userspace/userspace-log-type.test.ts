/**
 * The `userspace` log type's registry entry and `userspace_ctr`'s checks of
 * the daemon's answers (reference userspace-and-cluster-logs.md §2.1): the
 * default table arguments `mirrorsim run --log userspace[+integrated_flush]`
 * uses, a refused GET_REGION_SIZE, a region size that is not a power of two,
 * and the device name a CTR reply may carry.
 */
import { describe, expect, it } from 'vitest';
import { EIO } from '../../../src/errno.js';
import { dirtyLogVariantNames, findDirtyLogType } from '../../../src/log/registry.js';
import {
  encodeUlogCtrReply,
  encodeUlogU64,
  type UlogConsultRequest,
  type UlogConsultResult,
  UlogRequestType,
  UlogTransfer,
  USERSPACE_LOG_DEFAULT_UUID,
  USERSPACE_LOG_TYPE_NAME,
  type UserspaceLog,
  userspaceLogType,
} from '../../../src/log/userspace/index.js';
import { TableError } from '../../../src/table/table-error.js';
import { UserspaceHarness } from './userspace-test-kit.js';

const CORE = ['uuid-a', 'core', '1024'];

/** The error a call throws (fails the test when it throws nothing). */
function thrown(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as Error;
  }
  return expect.unreachable('expected an error, but nothing was thrown');
}

/**
 * A transfer layer whose load-path answers a test may rewrite after the
 * real exchange. The real transfer checks every reply against its payload
 * rule, so only a transfer like this can hand the constructor a reply the
 * codec would refuse.
 */
class RewritingTransfer extends UlogTransfer {
  rewrite: ((request: UlogConsultRequest, result: UlogConsultResult) => UlogConsultResult) | null =
    null;

  override consultNow(request: UlogConsultRequest): UlogConsultResult {
    const result = super.consultNow(request);
    return this.rewrite === null ? result : this.rewrite(request, result);
  }
}

/** Builds a `userspace` log of `CORE` over a rewriting transfer on `harness`'s channel. */
function createOverRewriting(
  harness: UserspaceHarness,
  rewrite: NonNullable<RewritingTransfer['rewrite']>,
): UserspaceLog {
  const transfer = new RewritingTransfer({
    scheduler: harness.world.scheduler,
    channel: harness.channel,
  });
  transfer.rewrite = rewrite;
  const context = { ...harness.context(), userspaceTransfer: () => transfer };
  return userspaceLogType.create(context, CORE) as UserspaceLog;
}

describe('the userspace entry of the dirty-log registry', () => {
  it('is registered as "userspace" with its summary and one variant, integrated_flush', () => {
    expect(USERSPACE_LOG_TYPE_NAME).toBe('userspace');
    expect(findDirtyLogType('userspace')).toBe(userspaceLogType);
    expect(userspaceLogType.name).toBe('userspace');
    expect(userspaceLogType.summary).toBe(
      'forwards the dirty-log API to a log daemon (in-process, or a real one with --log-daemon), backed by a disk log',
    );
    expect(userspaceLogType.tableVariants).toEqual(['integrated_flush']);
    expect(dirtyLogVariantNames()).toContain('userspace+integrated_flush');
  });

  it('§2.1 the default table arguments: the default uuid, then a disk log on the named device', () => {
    expect(USERSPACE_LOG_DEFAULT_UUID).toBe('mirrorsim-userspace-log');
    expect(
      userspaceLogType.defaultTableArgs?.({ regionSizeSectors: 1024, logDeviceName: 'log0' }),
    ).toEqual(['mirrorsim-userspace-log', 'disk', 'log0', '1024']);
    expect(
      userspaceLogType.defaultTableArgs?.({
        regionSizeSectors: 512,
        logDeviceName: 'log7',
        variant: 'integrated_flush',
      }),
    ).toEqual(['mirrorsim-userspace-log', 'integrated_flush', 'disk', 'log7', '512']);
  });

  it('§2.1 both default argument lists build a log whose TABLE status gives them back', () => {
    const harness = new UserspaceHarness();
    const plain = userspaceLogType.defaultTableArgs?.({
      regionSizeSectors: 1024,
      logDeviceName: 'log0',
    });
    const integrated = userspaceLogType.defaultTableArgs?.({
      regionSizeSectors: 1024,
      logDeviceName: 'log1',
      variant: 'integrated_flush',
    });
    const plainLog = harness.create(plain ?? []);
    const integratedLog = harness.create(integrated ?? []);
    expect(plainLog.integratedFlush).toBe(false);
    expect(integratedLog.integratedFlush).toBe(true);
    expect(harness.run(plainLog.status('table'))).toBe(
      'userspace 4 mirrorsim-userspace-log disk log0 1024 ',
    );
    expect(harness.run(integratedLog.status('table'))).toBe(
      'userspace 5 mirrorsim-userspace-log integrated_flush disk log1 1024 ',
    );
  });
});

describe('userspace_ctr checks the daemon’s answers (§2.1)', () => {
  it('§2.1 a GET_REGION_SIZE error fails the constructor, naming the errno', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = (request) =>
      request.requestType === UlogRequestType.GET_REGION_SIZE ? { error: EIO } : undefined;
    const error = thrown(() => harness.create(CORE));
    expect(error).toBeInstanceOf(TableError);
    expect(error.message).toBe(
      'Failed to get region size of dirty log "uuid-a": GET_REGION_SIZE answered EIO, expected 0',
    );
    expect(harness.channel.types()).toEqual(['CTR', 'GET_REGION_SIZE']);
  });

  it('§2.1 a region size whose low 32 bits are 0 is refused; 1 is the smallest power of two', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = (request) =>
      request.requestType === UlogRequestType.GET_REGION_SIZE
        ? { data: encodeUlogU64(1n << 32n) }
        : undefined;
    const error = thrown(() => harness.create(CORE));
    expect(error).toBeInstanceOf(TableError);
    expect(error.message).toBe(
      'Userspace log server gave region size 0 for "uuid-a": expected a power of two',
    );
    // The daemon's own log keeps 1024; the kernel side only knows what GET_REGION_SIZE said.
    harness.channel.script = (request) =>
      request.requestType === UlogRequestType.GET_REGION_SIZE
        ? { data: encodeUlogU64(1) }
        : undefined;
    const log = harness.create(CORE, 5 * 1024);
    expect(log.regionSizeSectors).toBe(1);
    expect(log.regionCount).toBe(5 * 1024);
  });

  it('§2.1 a region size that is not a power of two names the size and the uuid', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = (request) =>
      request.requestType === UlogRequestType.GET_REGION_SIZE
        ? { data: encodeUlogU64(3 * 512) }
        : undefined;
    expect(thrown(() => harness.create(CORE)).message).toBe(
      'Userspace log server gave region size 1536 for "uuid-a": expected a power of two',
    );
  });

  it('§2.1 an empty CTR reply names no device: nothing is opened', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = (request) => {
      if (request.requestType === UlogRequestType.CTR) return { data: new Uint8Array(0) };
      return { data: encodeUlogU64(1024) };
    };
    const log = harness.create(CORE);
    expect(log.logDeviceName).toBeNull();
    expect(harness.openedDevices).toEqual([]);
  });

  it('§2.1 a device name that does not end in NUL fails the constructor before dm_get_device', () => {
    const harness = new UserspaceHarness();
    const name = encodeUlogCtrReply('log0');
    const unterminated = name.subarray(0, name.length - 1);
    const error = thrown(() =>
      createOverRewriting(harness, (request, result) =>
        request.requestType === UlogRequestType.CTR ? { error: 0, data: unterminated } : result,
      ),
    );
    expect(error).toBeInstanceOf(TableError);
    expect(error.message).toBe(
      'Received bad device name from userspace log server: CTR reply device name ends in byte 0x30: expected a NUL-terminated device name of printable ASCII without spaces',
    );
    expect(harness.openedDevices).toEqual([]);
  });

  it('§2.1 a NUL-terminated device name from the transfer layer is opened and kept', () => {
    const harness = new UserspaceHarness();
    const log = createOverRewriting(harness, (request, result) =>
      request.requestType === UlogRequestType.CTR
        ? { error: 0, data: encodeUlogCtrReply('253:2') }
        : result,
    );
    expect(log.logDeviceName).toBe('253:2');
    expect(harness.openedDevices).toEqual(['253:2']);
  });
});
