import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/assert.js';
import { runNonBlocking } from '../../src/concurrency/blocking.js';
import { CORE_LOG_TYPE_NAME, CoreLog } from '../../src/log/core-log.js';
import type { DirtyLog } from '../../src/log/dirty-log.js';
import { createDirtyLog, findDirtyLogType } from '../../src/log/registry.js';
import { TableError } from '../../src/table/table-error.js';
import { LogHarness } from './log-test-kit.js';

function coreLog(args: string[], targetLengthSectors = 1000): CoreLog {
  const harness = new LogHarness({ targetLengthSectors });
  const log = createDirtyLog('core', harness.context, args);
  expect(log).toBeInstanceOf(CoreLog);
  return log as CoreLog;
}

const now = <T>(task: Parameters<typeof runNonBlocking<T>>[0]): T => runNonBlocking(task, 'test');

describe('core ctr arguments', () => {
  it('§2.1 takes <region_size> [sync|nosync]: 1 or 2 arguments', () => {
    expect(coreLog(['64']).regionCount).toBe(16);
    expect(coreLog(['64', 'sync']).sync).toBe('forcesync');
    expect(coreLog(['64', 'nosync']).sync).toBe('nosync');
    expect(() => coreLog([])).toThrow(/got 0, expected 1 or 2/);
    expect(() => coreLog(['64', 'sync', 'x'])).toThrow(
      /got 3 \("64" "sync" "x"\), expected 1 or 2/,
    );
  });

  it('§2.1 rejects any other sync word, including block_on_error', () => {
    for (const word of ['block_on_error', 'SYNC', 'nosync ', '']) {
      expect(() => coreLog(['64', word])).toThrow(TableError);
    }
    expect(() => coreLog(['64', 'block_on_error'])).toThrow(
      /Unrecognised sync argument to dirty region log "block_on_error": expected "sync" or "nosync"/,
    );
  });

  it('§2.1 checks the sync word before the region size, as create_log_context does', () => {
    expect(() => coreLog(['3', 'bogus'])).toThrow(/Unrecognised sync argument/);
  });

  it('§2.1 region size: a u32 with no trailing characters', () => {
    for (const text of ['64x', '+64', '-64', '0x40', ' 64', '64.0', '', '4294967296']) {
      expect(() => coreLog([text])).toThrow(TableError);
    }
    expect(() => coreLog(['64k'])).toThrow(
      /Invalid region size "64k": expected an unsigned integer/,
    );
  });

  it('§2.1 §7 region size: a power of two, at least 2 sectors, at most the target length', () => {
    for (const text of ['0', '1', '3', '96', '1000', '2048']) {
      expect(() => coreLog([text], 1000)).toThrow(
        new RegExp(`Invalid region size "${text}": expected a power of two from 2 to 1000 sectors`),
      );
    }
    expect(coreLog(['2'], 1000).regionCount).toBe(500);
    expect(coreLog(['512'], 1000).regionCount).toBe(2);
    expect(coreLog(['1024'], 1024).regionCount).toBe(1);
  });

  it('§2.1 region_count = ceil(target length / region size)', () => {
    expect(coreLog(['64'], 1000).regionCount).toBe(16);
    expect(coreLog(['8'], 1000).regionCount).toBe(125);
    expect(coreLog(['8'], 1001).regionCount).toBe(126);
    expect(coreLog(['8'], 1001).getRegionSize()).toBe(8);
  });

  it('refuses a region count past the kernel’s 32-bit region_count', () => {
    expect(() => coreLog(['2'], 2 ** 34)).toThrow(/exceed the log's 32-bit region count/);
  });
});

describe('core initial state', () => {
  it('§2.1 default and sync: every clean bit 1, every sync bit 0, sync_count 0', () => {
    for (const args of [['8'], ['8', 'sync']]) {
      const log = coreLog(args, 1000);
      for (let region = 0; region < log.regionCount; region++) {
        expect(log.isCleanBit(region)).toBe(true);
        expect(log.isSyncBit(region)).toBe(false);
        expect(log.isRecoveringBit(region)).toBe(false);
      }
      expect(now(log.getSyncCount())).toBe(0);
      expect(log.syncSearchPosition).toBe(0);
      expect(log.touchedCleaned).toBe(false);
      expect(log.touchedDirtied).toBe(false);
      expect(log.flushFailed).toBe(false);
    }
  });

  it('§2.1 nosync: every sync bit 1 and sync_count = region_count', () => {
    const log = coreLog(['8', 'nosync'], 1000);
    expect(now(log.getSyncCount())).toBe(125);
    expect(log.isSyncBit(0) && log.isSyncBit(124)).toBe(true);
    log.checkInvariants();
  });
});

describe('core methods', () => {
  it('§2.3 §2.7 mark clears the clean bit (touched_dirtied); clear sets it (touched_cleaned)', () => {
    const log = coreLog(['8']);
    log.markRegion(7);
    expect(log.isCleanBit(7)).toBe(false);
    expect(now(log.isClean(7))).toBe(0);
    expect(log.touchedDirtied).toBe(true);
    expect(log.touchedCleaned).toBe(false);
    log.clearRegion(7);
    expect(log.isCleanBit(7)).toBe(true);
    expect(now(log.isClean(7))).toBe(1);
    expect(log.touchedCleaned).toBe(true);
  });

  it('§2.7 in_sync returns the sync bit and never blocks, whatever can_block says', () => {
    const log = coreLog(['8']);
    expect(now(log.inSync(3, true))).toBe(0);
    now(log.setRegionSync(3, true));
    expect(now(log.inSync(3, false))).toBe(1);
    expect(now(log.inSync(3, true))).toBe(1);
  });

  it('in_sync allocates nothing: the same finished computation serves every call', () => {
    const log = coreLog(['8']);
    expect(log.inSync(1, false)).toBe(log.inSync(2, false));
    expect(log.isClean(1)).toBe(log.isClean(2));
    // A finished computation answers the same to any number of drivers.
    const answer = log.inSync(1, false);
    expect(now(answer)).toBe(0);
    expect(now(answer)).toBe(0);
  });

  it('§2.7 get_resync_work hands out out-of-sync regions in order and marks them recovering', () => {
    const log = coreLog(['8'], 64); // 8 regions
    for (const region of [0, 1, 3]) now(log.setRegionSync(region, true));
    const first = now(log.getResyncWork());
    expect(first).toEqual({ result: 1, region: 2 });
    expect(log.isRecoveringBit(2)).toBe(true);
    expect(log.syncSearchPosition).toBe(3);
    expect(now(log.getResyncWork())).toEqual({ result: 1, region: 4 });
  });

  it('§2.3 get_resync_work sets a recovering bit, so it marks the log touched-cleaned', () => {
    const log = coreLog(['8'], 64);
    now(log.getResyncWork());
    expect(log.touchedCleaned).toBe(true);
    expect(log.touchedDirtied).toBe(false);
  });

  it('§2.7 the cursor only moves forward: a region that goes out of sync behind it waits for resume', () => {
    const log = coreLog(['8', 'nosync'], 64);
    now(log.setRegionSync(5, false));
    expect(now(log.getResyncWork())).toEqual({ result: 1, region: 5 });
    // Region 5's recovery fails and region 1 goes nosync (a write failure): both are behind the cursor.
    now(log.setRegionSync(5, false));
    now(log.setRegionSync(1, false));
    expect(now(log.getResyncWork()).result).toBe(0);
    // find_next_zero_bit_le found nothing (answered 8), and the cursor went one past it.
    expect(log.syncSearchPosition).toBe(9);
    expect(now(log.getResyncWork()).result).toBe(0);
    // §2.5 core_resume resets the cursor only.
    expect(now(log.resume())).toBe(0);
    expect(log.syncSearchPosition).toBe(0);
    expect(now(log.getResyncWork())).toEqual({ result: 1, region: 1 });
    expect(now(log.getResyncWork())).toEqual({ result: 1, region: 5 });
  });

  it('§2.7 get_resync_work skips regions already recovering', () => {
    const log = coreLog(['8'], 32); // 4 regions
    expect(now(log.getResyncWork()).region).toBe(0);
    expect(now(log.getResyncWork()).region).toBe(1);
    now(log.resume());
    // Regions 0 and 1 are still recovering (recovering bits survive resume): region 2 is next.
    expect(log.isRecoveringBit(0)).toBe(true);
    expect(now(log.getResyncWork())).toEqual({ result: 1, region: 2 });
    expect(now(log.getResyncWork())).toEqual({ result: 1, region: 3 });
    expect(now(log.getResyncWork()).result).toBe(0);
  });

  it('§2.7 set_region_sync clears the recovering bit and counts transitions', () => {
    const log = coreLog(['8'], 64);
    const { region } = now(log.getResyncWork());
    now(log.setRegionSync(region, true));
    expect(log.isRecoveringBit(region)).toBe(false);
    expect(log.isSyncBit(region)).toBe(true);
    expect(now(log.getSyncCount())).toBe(1);
    now(log.setRegionSync(region, false));
    expect(now(log.getSyncCount())).toBe(0);
    // Out of sync again: nothing to uncount.
    now(log.setRegionSync(region, false));
    expect(now(log.getSyncCount())).toBe(0);
    log.checkInvariants();
  });

  it('§2.3 set_region_sync clears a recovering bit, so it marks the log touched-dirtied', () => {
    const log = coreLog(['8'], 64);
    now(log.setRegionSync(2, true));
    expect(log.touchedDirtied).toBe(true);
  });

  it('§9 (e) set_region_sync(r, 1) on a region already in sync is an invariant violation', () => {
    const log = coreLog(['8'], 64);
    now(log.setRegionSync(4, true));
    expect(() => log.setRegionSync(4, true)).toThrow(InvariantError);
    expect(() => coreLog(['8', 'nosync'], 64).setRegionSync(0, true)).toThrow(
      /already in sync would overcount sync_count/,
    );
  });

  it('§2.5 core_resume keeps every bit: state survives a suspend and resume', () => {
    const log = coreLog(['8'], 64);
    log.markRegion(2);
    now(log.setRegionSync(6, true));
    now(log.resume());
    expect(log.isCleanBit(2)).toBe(false);
    expect(log.isSyncBit(6)).toBe(true);
    expect(now(log.getSyncCount())).toBe(1);
  });

  it('§2 core_flush is a no-op returning 0 that leaves the touched flags alone', () => {
    const log = coreLog(['8'], 64);
    log.markRegion(1);
    log.clearRegion(2);
    expect(now(log.flush())).toBe(0);
    expect(log.touchedDirtied && log.touchedCleaned).toBe(true);
  });

  it('§1.1 §6 core has no presuspend, postsuspend or is_remote_recovering', () => {
    const log: DirtyLog = coreLog(['8']);
    expect(log.presuspend).toBeUndefined();
    expect(log.postsuspend).toBeUndefined();
    expect(log.isRemoteRecovering).toBeUndefined();
  });

  it('rejects regions outside [0, region_count)', () => {
    const log = coreLog(['8'], 64);
    for (const region of [-1, 8, 1.5, Number.NaN]) {
      expect(() => log.markRegion(region)).toThrow(RangeError);
    }
    expect(() => log.inSync(8, false)).toThrow(
      /Region 8 is out of range for a 8-region core log: expected an integer from 0 to 7/,
    );
  });
});

describe('core status', () => {
  it('§2.7 INFO is "1 core"; TABLE is "core <1|2> <region_size> [sync |nosync ]", each word followed by a space', () => {
    expect(now(coreLog(['8']).status('info'))).toBe('1 core');
    expect(now(coreLog(['8']).status('table'))).toBe('core 1 8 ');
    expect(now(coreLog(['8', 'sync']).status('table'))).toBe('core 2 8 sync ');
    expect(now(coreLog(['8', 'nosync']).status('table'))).toBe('core 2 8 nosync ');
  });
});

type Operation =
  | { readonly kind: 'mark'; readonly region: number }
  | { readonly kind: 'clear'; readonly region: number }
  | { readonly kind: 'sync'; readonly region: number; readonly inSync: boolean }
  | { readonly kind: 'work' }
  | { readonly kind: 'resume' };

const operation = (regionCount: number): fc.Arbitrary<Operation> => {
  const region = fc.nat({ max: regionCount - 1 });
  return fc.oneof(
    region.map((r): Operation => ({ kind: 'mark', region: r })),
    region.map((r): Operation => ({ kind: 'clear', region: r })),
    fc
      .tuple(region, fc.boolean())
      .map(([r, s]): Operation => ({ kind: 'sync', region: r, inSync: s })),
    fc.constant<Operation>({ kind: 'work' }),
    fc.constant<Operation>({ kind: 'resume' }),
  );
};

/** The kernel's `core_get_resync_work` over plain arrays. */
function modelResyncWork(
  model: { cursor: number; sync: boolean[]; recovering: boolean[] },
  regionCount: number,
): number {
  if (model.cursor >= regionCount) return -1;
  for (;;) {
    let region = model.cursor;
    while (region < regionCount && model.sync[region]) region++;
    model.cursor = region + 1;
    if (region >= regionCount) return -1;
    if (!model.recovering[region]) return region;
  }
}

const scenario = fc.integer({ min: 1, max: 150 }).chain((regionCount) =>
  fc.record({
    regionCount: fc.constant(regionCount),
    syncArgs: fc.constantFrom<string[]>([], ['nosync'], ['sync']),
    operations: fc.array(operation(regionCount), { maxLength: 80 }),
  }),
);

describe('core model', () => {
  it('§2.3 §2.7 §9 (e) any operation sequence keeps sync_count = popcount(sync_bits) and the touched rules', () => {
    fc.assert(
      fc.property(scenario, ({ regionCount, syncArgs, operations }) => {
        const log = coreLog(['2', ...syncArgs], regionCount * 2);
        const model = {
          clean: new Array<boolean>(regionCount).fill(true),
          sync: new Array<boolean>(regionCount).fill(syncArgs[0] === 'nosync'),
          recovering: new Array<boolean>(regionCount).fill(false),
          cursor: 0,
          touchedCleaned: false,
          touchedDirtied: false,
        };
        for (const op of operations) {
          switch (op.kind) {
            case 'mark':
              log.markRegion(op.region);
              model.clean[op.region] = false;
              model.touchedDirtied = true;
              break;
            case 'clear':
              log.clearRegion(op.region);
              model.clean[op.region] = true;
              model.touchedCleaned = true;
              break;
            case 'sync':
              if (op.inSync && model.sync[op.region]) {
                expect(() => log.setRegionSync(op.region, true)).toThrow(InvariantError);
                // The recovering bit was cleared before the check fired.
                model.recovering[op.region] = false;
                model.touchedDirtied = true;
                break;
              }
              now(log.setRegionSync(op.region, op.inSync));
              model.recovering[op.region] = false;
              model.touchedDirtied = true;
              if (op.inSync) model.touchedCleaned = true;
              model.sync[op.region] = op.inSync;
              break;
            case 'work': {
              const expected = modelResyncWork(model, regionCount);
              const work = now(log.getResyncWork());
              if (expected < 0) {
                expect(work.result).toBe(0);
              } else {
                expect(work).toEqual({ result: 1, region: expected });
                model.recovering[expected] = true;
                model.touchedCleaned = true;
              }
              break;
            }
            case 'resume':
              expect(now(log.resume())).toBe(0);
              model.cursor = 0;
              break;
          }
          log.checkInvariants();
          expect(now(log.getSyncCount())).toBe(model.sync.filter(Boolean).length);
          expect(log.syncSearchPosition).toBe(model.cursor);
          expect(log.touchedCleaned).toBe(model.touchedCleaned);
          expect(log.touchedDirtied).toBe(model.touchedDirtied);
        }
        for (let r = 0; r < regionCount; r++) {
          expect(log.isCleanBit(r)).toBe(model.clean[r]);
          expect(log.isSyncBit(r)).toBe(model.sync[r]);
          expect(log.isRecoveringBit(r)).toBe(model.recovering[r]);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('the core log type in the registry', () => {
  it('§2 registers as "core" with the summary mirrorsim shows', () => {
    expect(CORE_LOG_TYPE_NAME).toBe('core');
    const type = findDirtyLogType('core');
    expect(type?.name).toBe('core');
    expect(type?.summary).toBe(
      'in-memory dirty log: fastest, forgets everything at every reload (full resync)',
    );
    expect(coreLog(['64']).typeName).toBe('core');
  });
});
