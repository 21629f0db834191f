/**
 * The shared log context (`struct log_c`, reference §2.1 §2.3 §2.7): the
 * limits `create_log_context` enforces, the "no work" answer of
 * `get_resync_work`, and the `sync_count` invariant (§9 (e)) checked by
 * `checkInvariants` and by `set_region_sync` — broken here on purpose
 * through the log's protected state, to show each check names what broke.
 */
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../../src/assert.js';
import { type Blocking, runNonBlocking } from '../../../src/concurrency/blocking.js';
import {
  LogContext,
  type LogContextArgs,
  parseLogContextArgs,
} from '../../../src/log/_internals/log-context.js';
import { settled, settledVoid } from '../../../src/log/_internals/settled.js';
import { LeBitset } from '../../../src/log/bitset.js';
import type { CoreLog } from '../../../src/log/core-log.js';
import { createDirtyLog } from '../../../src/log/registry.js';
import { TableError } from '../../../src/table/table-error.js';
import { LogHarness } from '../log-test-kit.js';

/** The protected counters these tests corrupt. */
interface Counters {
  syncCount: number;
  syncSearch: number;
}

/** A log context over a clean bitset of `bitCount` bits, whatever its region count. */
class BitsetSizedLog extends LogContext {
  readonly typeName = 'bitset-sized';

  constructor(args: LogContextArgs, bitCount: number) {
    super(args, LeBitset.allocate(bitCount));
  }

  destroy(): Blocking<void> {
    return settledVoid();
  }

  resume(): Blocking<number> {
    return settled(0);
  }

  flush(): Blocking<number> {
    return settled(0);
  }

  status(): Blocking<string> {
    return settled(this.typeName);
  }
}

function coreLog(args: string[], targetLengthSectors: number): CoreLog {
  const harness = new LogHarness({ targetLengthSectors });
  return createDirtyLog('core', harness.context, args) as CoreLog;
}

const now = <T>(task: Parameters<typeof runNonBlocking<T>>[0]): T => runNonBlocking(task, 'test');

describe('create_log_context limits (§2.1)', () => {
  it('refuses a target length that is not a positive integer, naming it', () => {
    for (const length of [0, -8, 1.5, Number.NaN]) {
      expect(() => parseLogContextArgs(['2'], length), String(length)).toThrow(
        new RangeError(`Target length ${length} sectors is not a positive integer`),
      );
    }
    expect(parseLogContextArgs(['2'], 2).regionCount).toBe(1);
  });

  it('allows exactly 2^32 - 1 regions (an unsigned int) and refuses one more', () => {
    expect(parseLogContextArgs(['2'], 2 * 0xffff_ffff).regionCount).toBe(0xffff_ffff);
    expect(() => parseLogContextArgs(['2'], 2 * 0x1_0000_0000)).toThrow(TableError);
    expect(() => parseLogContextArgs(['2'], 2 * 0x1_0000_0000)).toThrow(
      'Invalid region size "2": 4294967296 regions exceed the log\'s 32-bit region count; expected a larger region size',
    );
  });
});

describe('get_resync_work with nothing to do (§2.7)', () => {
  it('answers result 0 and region -1 once every region is in sync', () => {
    const log = coreLog(['8', 'nosync'], 32);
    expect(now(log.getResyncWork())).toEqual({ result: 0, region: -1 });
  });
});

describe('sync_count checks (§9 (e))', () => {
  it('checkInvariants names a sync_count outside [0, region_count]', () => {
    const log = coreLog(['8'], 32);
    (log as unknown as Counters).syncCount = 5;
    expect(() => log.checkInvariants()).toThrow(
      new InvariantError('sync_count 5 is outside [0, 4]'),
    );
    (log as unknown as Counters).syncCount = -1;
    expect(() => log.checkInvariants()).toThrow(
      new InvariantError('sync_count -1 is outside [0, 4]'),
    );
  });

  it('checkInvariants names a negative sync_search (get_resync_work only moves it forward)', () => {
    const log = coreLog(['8'], 32);
    (log as unknown as Counters).syncSearch = 0;
    expect(() => log.checkInvariants()).not.toThrow();
    (log as unknown as Counters).syncSearch = -1;
    expect(() => log.checkInvariants()).toThrow(new InvariantError('sync_search -1 is negative'));
  });

  it('the clean bitset must hold every region: a bitset one bit short is refused', () => {
    const args = parseLogContextArgs(['8'], 8 * 65);
    expect(args.regionCount).toBe(65);
    expect(() => new BitsetSizedLog(args, 64)).toThrow(
      new InvariantError('clean bitset smaller than the region count'),
    );
    const log = new BitsetSizedLog(args, 65);
    expect([log.isCleanBit(64), now(log.isClean(64)), now(log.getSyncCount())]).toEqual([
      true,
      1,
      0,
    ]);
  });

  it('checkInvariants names a sync_count that differs from the sync bits set', () => {
    const log = coreLog(['8'], 32);
    now(log.setRegionSync(2, true));
    expect(() => log.checkInvariants()).not.toThrow();
    (log as unknown as Counters).syncCount = 0;
    expect(() => log.checkInvariants()).toThrow(
      new InvariantError('sync_count 0 differs from the 1 sync bits set'),
    );
  });

  it('set_region_sync refuses to count past the region count or below zero', () => {
    const full = coreLog(['8'], 32);
    (full as unknown as Counters).syncCount = 4;
    expect(() => now(full.setRegionSync(0, true))).toThrow(
      new InvariantError('sync_count exceeds the region count'),
    );
    const empty = coreLog(['8'], 32);
    now(empty.setRegionSync(1, true));
    (empty as unknown as Counters).syncCount = 0;
    expect(() => now(empty.setRegionSync(1, false))).toThrow(
      new InvariantError('sync_count went negative'),
    );
  });
});
