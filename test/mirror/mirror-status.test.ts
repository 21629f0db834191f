import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DM_RAID1_FLUSH_ERROR,
  DM_RAID1_READ_ERROR,
  DM_RAID1_SYNC_ERROR,
  DM_RAID1_WRITE_ERROR,
} from '../../src/mirror/leg.js';
import {
  MirrorHarness,
  registerRecordingLogTypes,
  unregisterRecordingLogTypes,
} from './mirror-test-kit.js';

beforeAll(registerRecordingLogTypes);
afterAll(unregisterRecordingLogTypes);

describe('dmsetup status (§4.2 INFO)', () => {
  it('§4.2 INFO is "<#mirrors> <devs> <sync_count>/<nr_regions> 1 <health> <log INFO>", counting up during resync', () => {
    const h = new MirrorHarness({
      table: '0 128 mirror rec-core 1 8 2 leg0 0 leg1 0',
      settle: false,
    });
    expect(h.status('info')).toBe('2 leg0 leg1 0/16 1 AA 1 core');
    h.runUntil(() => h.timeline.indexOf('log set_region_sync 4 1') >= 0, 'five regions recovered');
    expect(h.status('info')).toBe('2 leg0 leg1 5/16 1 AA 1 core');
    h.settle();
    expect(h.status('info')).toBe('2 leg0 leg1 16/16 1 AA 1 core');
  });

  it('§4.2 §2.6 the disk log appends "3 disk <dev> A|D|F" after the health characters', () => {
    const h = new MirrorHarness({ table: '0 128 mirror rec-disk 2 log0 8 3 leg0 0 leg1 0 leg2 0' });
    expect(h.status('info')).toBe('3 leg0 leg1 leg2 16/16 1 AAA 3 disk log0 A');
    h.sim('leg1').faults.injectNext('write', 'error');
    h.write(16, 8);
    h.settle();
    expect(h.status('info')).toBe('3 leg0 leg1 leg2 15/16 1 ADA 3 disk log0 A');
    h.sim('log0').faults.injectNext('write', 'error');
    h.write(32, 8);
    h.settle();
    expect(h.status('info')).toBe('3 leg0 leg1 leg2 15/16 1 ADA 3 disk log0 D');
    h.sim('log0').faults.injectNext('flush', 'error');
    h.write(48, 8);
    h.settle();
    expect(h.status('info')).toBe('3 leg0 leg1 leg2 15/16 1 ADA 3 disk log0 F');
  });

  it('§4.2 a leg shows A without errors, else the most severe recorded type: F, then D, then S, then R', () => {
    const h = new MirrorHarness({
      table: '0 128 mirror rec-core 2 8 nosync 4 leg0 0 leg1 0 leg2 0 leg3 0',
    });
    const [leg0, leg1, leg2, leg3] = h.mirror.legs;
    h.mirror.failMirror(leg0!, DM_RAID1_READ_ERROR);
    h.mirror.failMirror(leg1!, DM_RAID1_READ_ERROR);
    h.mirror.failMirror(leg1!, DM_RAID1_SYNC_ERROR);
    h.mirror.failMirror(leg2!, DM_RAID1_SYNC_ERROR);
    h.mirror.failMirror(leg2!, DM_RAID1_WRITE_ERROR);
    h.mirror.failMirror(leg3!, DM_RAID1_WRITE_ERROR);
    h.mirror.failMirror(leg3!, DM_RAID1_FLUSH_ERROR);
    h.mirror.failMirror(leg3!, DM_RAID1_READ_ERROR);
    expect(h.status('info')).toBe('4 leg0 leg1 leg2 leg3 16/16 1 RSDF 1 core');
  });
});

describe('dmsetup table (§4.2 TABLE)', () => {
  const cases: Array<[string, string]> = [
    ['0 2097152 mirror rec-core 1 1024 2 leg0 0 leg1 0', 'core 1 1024 2 leg0 0 leg1 0'],
    [
      '0 2097152 mirror rec-disk 2 log0 1024 2 leg0 0 leg1 0 1 handle_errors',
      'disk 2 log0 1024 2 leg0 0 leg1 0 1 handle_errors',
    ],
    [
      '0 2097152 mirror rec-core 2 1024 nosync 3 leg0 0 leg1 0 leg2 0 2 keep_log handle_errors',
      'core 2 1024 nosync 3 leg0 0 leg1 0 leg2 0 2 handle_errors keep_log',
    ],
    [
      '0 4096 mirror rec-core 2 1024 sync 2 leg0 100 leg1 2048 0',
      'core 2 1024 sync 2 leg0 100 leg1 2048',
    ],
    [
      '0 4096 mirror rec-disk 3 log0 1024 nosync 2 leg0 0 leg1 8',
      'disk 3 log0 1024 nosync 2 leg0 0 leg1 8',
    ],
  ];
  for (const [table, expected] of cases) {
    it(`§4.2 TABLE prints "${expected}"`, () => {
      const h = new MirrorHarness({ table, settle: false });
      expect(h.status('table')).toBe(expected);
      // The printed table builds the same target again.
      const again = h.build(`0 ${table.split(' ')[1]} mirror ${expected}`);
      expect(again.features).toEqual(h.mirror.features);
      expect(again.legs.map((leg) => leg.offsetSectors)).toEqual(
        h.mirror.legs.map((leg) => leg.offsetSectors),
      );
    });
  }
});
