import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STALE_PAGE_BYTE } from '../../src/dm/kcopyd.js';
import {
  MirrorHarness,
  registerRecordingLogTypes,
  unregisterRecordingLogTypes,
} from './mirror-test-kit.js';

beforeAll(registerRecordingLogTypes);
afterAll(unregisterRecordingLogTypes);

/** A loaded, not yet resumed mirror whose leg 0 already holds data (byte = region + 1) in every region. */
function withDataOnLeg0(table: string, regions: number): MirrorHarness {
  const h = new MirrorHarness({ table, activate: false });
  for (let region = 0; region < regions; region++) {
    const data = new Uint8Array(8 * 512).fill(region + 1);
    h.sim('leg0').write({ sector: region * 8, data }, () => {});
  }
  h.settle();
  h.timeline.clear();
  return h;
}

function messages(h: MirrorHarness): string[] {
  return h.mirror.messages.map((message) => message.text);
}

describe('recovery (§4.5)', () => {
  it('§4.5 §3.5 recovery copies each region from the default leg to every other leg, one region at a time, in order', () => {
    const h = withDataOnLeg0('0 32 mirror rec-core 1 8 3 leg0 0 leg1 0 leg2 0', 4);
    h.resume();
    h.settle();
    const copies = h.timeline.texts(/copy-|set_region_sync/);
    const expected: string[] = [];
    for (let region = 0; region < 4; region++) {
      const range = `${region * 8}+8`;
      expected.push(
        `leg0 copy-read ${range}`,
        `leg0 copy-read ${range} done`,
        `leg1 copy-write ${range}`,
        `leg2 copy-write ${range}`,
        `leg1 copy-write ${range} done`,
        `leg2 copy-write ${range} done`,
        `log set_region_sync ${region} 1`,
      );
    }
    expect(copies).toEqual(expected);
    for (const leg of ['leg1', 'leg2'])
      expect(h.legBytes(leg, 0, 32)).toEqual(h.legBytes('leg0', 0, 32));
    expect(h.status('info')).toBe('3 leg0 leg1 leg2 4/4 1 AAA 1 core');
    expect(h.mirror.stats.regionsRecovered).toBe(4);
  });

  it('§4.5 the last region copies only len & (region_size − 1) sectors', () => {
    const h = new MirrorHarness({ table: '0 60 mirror rec-core 1 8 2 leg0 0 leg1 0' });
    expect(h.mirror.regionCount).toBe(8);
    expect(h.timeline.texts(/copy-read \d+\+\d+$/).at(-1)).toBe('leg0 copy-read 56+4');
    expect(h.mirror.stats.sectorsResynced).toBe(60);
  });

  it('§4.5 reaching full sync raises one event, sets in_sync and resets every leg error (reset_ms_flags)', () => {
    const h = new MirrorHarness({ table: '0 128 mirror rec-core 2 8 nosync 2 leg0 0 leg1 0' });
    expect(h.events).toEqual(['mirror in sync']);
    h.sim('leg1').faults.injectNext('write', 'error');
    h.write(40, 8, { fill: 5 });
    h.settle();
    expect(h.mirror.inSync).toBe(false);
    expect(h.status('info')).toBe('2 leg0 leg1 15/16 1 AD 1 core');
    // §2.7: region 5 is behind the resync cursor, so nothing recovers it in this activation.
    h.runFor(1_000_000);
    expect(h.timeline.texts(/copy-read/)).toEqual([]);
    h.suspend();
    h.resume();
    h.settle();
    expect(h.timeline.texts(/copy-read \d+\+\d+$/)).toEqual(['leg0 copy-read 40+8']);
    expect(h.events).toEqual(['mirror in sync', 'mirror in sync']);
    expect(h.mirror.inSync).toBe(true);
    expect(h.mirror.legFailure).toBe(false);
    expect(h.status('info')).toBe('2 leg0 leg1 16/16 1 AA 1 core');
    expect(h.legBytes('leg1', 40, 8)).toEqual(new Array(8).fill(5));
  });

  it('§3.4 §4.5 without handle_errors a failed resync read is recorded in sync, and kcopyd writes its stale pages', () => {
    const h = withDataOnLeg0('0 32 mirror rec-core 1 8 2 leg0 0 leg1 0', 4);
    h.sim('leg0').faults.injectNext('read', 'error');
    h.resume();
    h.settle();
    expect(messages(h)).toContain('Unable to read primary mirror during recovery');
    expect(h.mirror.stats.regionsRecoveryFailed).toBe(1);
    expect(h.timeline.texts(/set_region_sync 0/)).toEqual(['log set_region_sync 0 1']);
    expect(h.legBytes('leg1', 0, 1)).toEqual([STALE_PAGE_BYTE]);
    expect(h.legBytes('leg0', 0, 1)).toEqual([1]);
    // Full "sync" resets the leg errors, so nothing shows that the legs differ.
    expect(h.status('info')).toBe('2 leg0 leg1 4/4 1 AA 1 core');
    expect(h.events).toEqual(['mirror in sync']);
  });

  it('§4.5 §4.6 with handle_errors a failed resync read stops that copy and leaves the region out of sync; the default leg is not switched', () => {
    const h = withDataOnLeg0('0 32 mirror rec-core 1 8 2 leg0 0 leg1 0 1 handle_errors', 4);
    h.sim('leg0').faults.injectNext('read', 'error');
    h.resume();
    h.settle();
    expect(h.timeline.texts(/copy-write 0\+8/), 'no write after the read error').toEqual([]);
    expect(h.timeline.texts(/set_region_sync 0/)).toEqual(['log set_region_sync 0 0']);
    expect(messages(h)).toContain(
      'Primary mirror (leg0) failed while out-of-sync: Reads may fail.',
    );
    expect(h.mirror.defaultLeg.index).toBe(0);
    expect(h.events).toEqual(['leg0 SYNC_ERROR']);
    expect(h.status('info')).toBe('2 leg0 leg1 3/4 1 SA 1 core');
    expect(h.mirror.inSync).toBe(false);
  });

  it('§4.5 a resync write error fails that destination: bits follow the non-default legs in index order', () => {
    const h = withDataOnLeg0('0 32 mirror rec-core 1 8 3 leg0 0 leg1 0 leg2 0 1 handle_errors', 4);
    h.sim('leg2').faults.injectNext('write', 'error');
    h.resume();
    h.settle();
    expect(messages(h)).toContain('Write error during recovery (error = 0x2)');
    expect(h.status('info')).toBe('3 leg0 leg1 leg2 3/4 1 AAS 1 core');
    expect(h.events).toEqual(['leg2 SYNC_ERROR']);
  });

  it('§4.5 raid1_resync_throttle: a copy that kept the devices busy d ticks completes d·(100 − p)/p later', () => {
    const times = [100, 50, 25].map((percent) => {
      const h = new MirrorHarness({
        table: '0 128 mirror rec-core 1 8 2 leg0 0 leg1 0',
        resyncThrottlePercent: percent,
      });
      expect(h.mirror.inSync).toBe(true);
      return h.timeline.timeOf('event mirror in sync');
    });
    // Each copy is a 10-tick read then a 20-tick write: 30 busy ticks for each of 16 regions.
    expect(times).toEqual([16 * 30, 16 * 60, 16 * 120]);
  });

  it('§4.5 recovery drives itself: each region ends with a kmirrord pass that completes it and prepares the next', () => {
    const h = new MirrorHarness({ table: '0 32 mirror rec-core 1 8 2 leg0 0 leg1 0' });
    const order = h.timeline.texts(/get_resync_work|set_region_sync|copy-read \d+\+\d+$/);
    expect(order).toEqual([
      'log get_resync_work -> region 0',
      'leg0 copy-read 0+8',
      'log set_region_sync 0 1',
      'log get_resync_work -> region 1',
      'leg0 copy-read 8+8',
      'log set_region_sync 1 1',
      'log get_resync_work -> region 2',
      'leg0 copy-read 16+8',
      'log set_region_sync 2 1',
      'log get_resync_work -> region 3',
      'leg0 copy-read 24+8',
      'log set_region_sync 3 1',
      'log get_resync_work -> none',
    ]);
  });
});
