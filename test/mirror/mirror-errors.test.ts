import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MirrorHarness,
  registerRecordingLogTypes,
  unregisterRecordingLogTypes,
} from './mirror-test-kit.js';

beforeAll(registerRecordingLogTypes);
afterAll(unregisterRecordingLogTypes);

function core(legCount: number, features = '', sync = 'nosync'): string {
  const legs = Array.from({ length: legCount }, (_, index) => `leg${index} 0`).join(' ');
  const logArgs = sync === 'nosync' ? '2 8 nosync' : '1 8';
  return `0 128 mirror rec-core ${logArgs} ${legCount} ${legs}${features === '' ? '' : ` ${features}`}`;
}

function disk(features = ''): string {
  return `0 128 mirror rec-disk 2 log0 8 2 leg0 0 leg1 0${features === '' ? '' : ` ${features}`}`;
}

function messages(h: MirrorHarness): string[] {
  return h.mirror.messages.map((message) => message.text);
}

/** Leg data writes issued (not completions). */
const LEG_WRITES = /^leg\d write \d+\+\d+( fua)?$/;

describe('fail_mirror (§4.6)', () => {
  it('§4.6 §5.8 one event per leg and error type, edge-triggered, only with handle_errors', () => {
    const h = new MirrorHarness({ table: core(3, '1 handle_errors') });
    for (const sector of [16, 32]) {
      h.sim('leg1').faults.injectNext('write', 'error');
      h.write(sector, 8);
      h.settle();
    }
    h.sim('leg2').faults.injectNext('write', 'error');
    h.write(48, 8);
    h.settle();
    expect(h.events).toEqual(['mirror in sync', 'leg1 WRITE_ERROR', 'leg2 WRITE_ERROR']);
    expect(h.device.events).toBe(3);
    expect(h.mirror.legs[1]!.errorCount, 'every error is counted').toBe(2);
    const quiet = new MirrorHarness({ table: core(3) });
    quiet.sim('leg1').faults.injectNext('write', 'error');
    quiet.write(16, 8);
    quiet.settle();
    expect(quiet.events).toEqual(['mirror in sync']);
    expect(quiet.status('info')).toBe('3 leg0 leg1 leg2 15/16 1 ADA 1 core');
  });

  it('§4.6 failures before the queued event work runs raise one event (queue_work coalesces)', () => {
    const h = new MirrorHarness({ table: core(3, '1 handle_errors') });
    h.sim('leg1').faults.injectNext('write', 'error');
    h.sim('leg2').faults.injectNext('write', 'error');
    h.write(16, 8);
    h.settle();
    expect(h.events).toEqual(['mirror in sync', 'leg1 WRITE_ERROR']);
    expect(h.status('info')).toContain(' ADD ');
  });

  it('§4.6 a failing default leg is switched to the first leg without errors while the set is in sync', () => {
    const h = new MirrorHarness({ table: core(3, '1 handle_errors') });
    h.sim('leg0').faults.injectNext('write', 'error');
    h.write(16, 8);
    h.settle();
    expect(h.mirror.defaultLeg.index).toBe(1);
    const start = h.timeline.entries.length;
    h.read(64, 8);
    h.settle();
    expect(h.textsSince(start, /^leg\d read \d+\+\d+$/)).toEqual(['leg1 read 64+8']);
  });

  it('§4.6 the default leg is not switched while the set is out of sync, unless keep_log', () => {
    for (const [features, expectedDefault] of [
      ['1 handle_errors', 0],
      ['2 handle_errors keep_log', 1],
    ] as const) {
      const h = new MirrorHarness({ table: core(2, features, 'sync'), settle: false });
      h.runUntil(() => h.timeline.indexOf('log set_region_sync 0 1') >= 0, 'region 0 recovered');
      expect(h.mirror.inSync).toBe(false);
      h.sim('leg0').faults.injectNext('write', 'error');
      h.write(0, 8);
      h.settle();
      expect(h.mirror.defaultLeg.index, features).toBe(expectedDefault);
      const warned = messages(h).includes(
        'Primary mirror (leg0) failed while out-of-sync: Reads may fail.',
      );
      expect(warned, features).toBe(expectedDefault === 0);
    }
  });

  it('§4.6 without handle_errors the default leg never switches', () => {
    const h = new MirrorHarness({ table: core(2) });
    h.sim('leg0').faults.injectNext('write', 'error');
    h.write(16, 8);
    h.settle();
    expect(h.mirror.defaultLeg.index).toBe(0);
    expect(h.status('info')).toBe('2 leg0 leg1 15/16 1 DA 1 core');
  });

  it('§4.6 a failed mirror_flush (the log callback) records F, and the disk log then records every region dirty for good', () => {
    const h = new MirrorHarness({ table: disk() });
    h.write(16, 8);
    h.runUntil(() => h.timeline.indexOf('log clear 2') >= 0, 'the clear');
    h.sim('leg1').faults.injectNext('flush', 'error');
    h.settle();
    expect(h.status('info')).toBe('2 leg0 leg1 16/16 1 AF 3 disk log0 A');
    const image = h.sim('log0').content.read(2, 1);
    expect(image[0], 'every clean bit is 0 on the log device').toBe(0);
    expect(image[1]).toBe(0);
    h.write(32, 8);
    h.settle();
    expect(h.sim('log0').content.read(2, 1)[0], 'nothing is recorded clean again').toBe(0);
  });
});

describe('do_failures (§4.4 step 7)', () => {
  it('§4.4 without handle_errors a write that failed on one leg is acknowledged and its region goes NOSYNC', () => {
    const h = new MirrorHarness({ table: core(2) });
    h.sim('leg1').faults.injectNext('write', 'error');
    const write = h.write(16, 8, { fill: 4 });
    h.settle();
    expect(write.error).toBeNull();
    expect(h.mirror.inSync).toBe(false);
    expect(h.mirror.rh.lookup(2)?.state).toBe(4);
    expect(h.timeline.texts(/set_region_sync/).at(-1)).toBe('log set_region_sync 2 0');
    expect(h.legBytes('leg1', 16, 1)).toEqual([0]);
  });

  it('§4.4 with handle_errors the write is held; a flushing suspend then fails it with EIO', () => {
    const h = new MirrorHarness({ table: core(2, '1 handle_errors') });
    h.sim('leg1').faults.injectNext('write', 'error');
    const write = h.write(16, 8);
    h.settle();
    expect(write.done).toBe(false);
    expect(h.mirror.heldCount).toBe(1);
    expect(h.device.inFlight).toBe(1);
    h.suspend();
    expect(write.error).toBe('EIO');
    expect(h.mirror.heldCount).toBe(0);
    expect(h.device.inFlight).toBe(0);
    expect(h.mirror.rh.lookup(2)?.pending, 'end_io ran for the held write').toBe(0);
  });

  it('§4.4 §4.7 a noflush suspend requeues the held write; DM core resubmits it to the table loaded without the failed leg', () => {
    const h = new MirrorHarness({ table: core(2, '1 handle_errors') });
    h.sim('leg1').faults.fail({ writes: true });
    const write = h.write(16, 8, { fill: 6 });
    h.settle();
    expect(write.done).toBe(false);
    h.reload('0 128 mirror rec-core 2 8 nosync 2 leg0 0 leg2 0 1 handle_errors', { noflush: true });
    h.settle();
    expect(write.error).toBeNull();
    expect(h.mirror.legs.map((leg) => leg.name)).toEqual(['leg0', 'leg2']);
    expect(h.legBytes('leg0', 16, 1)).toEqual([6]);
    expect(h.legBytes('leg2', 16, 1)).toEqual([6]);
    expect(h.device.deferredCount).toBe(0);
  });

  it('§4.4 with keep_log a write that failed on one leg only is acknowledged', () => {
    const h = new MirrorHarness({ table: core(2, '2 handle_errors keep_log') });
    h.sim('leg1').faults.injectNext('write', 'error');
    const write = h.write(16, 8);
    h.settle();
    expect(write.error).toBeNull();
    expect(h.mirror.heldCount).toBe(0);
    expect(h.events).toEqual(['mirror in sync', 'leg1 WRITE_ERROR']);
  });

  it('§4.4 a write that failed on every leg fails with EIO', () => {
    for (const features of ['', '1 handle_errors']) {
      const h = new MirrorHarness({ table: core(2, features) });
      h.sim('leg0').faults.injectNext('write', 'error');
      h.sim('leg1').faults.injectNext('write', 'error');
      const write = h.write(16, 8);
      h.settle();
      expect(write.error, features).toBe('EIO');
      expect(h.mirror.getValidMirror()).toBe(-1);
    }
  });

  it('§4.4 with leg_failure and handle_errors, writes to NOSYNC regions are held without being attempted', () => {
    const h = new MirrorHarness({ table: core(3, '1 handle_errors') });
    h.sim('leg2').faults.injectNext('write', 'error');
    const first = h.write(16, 8);
    h.settle();
    expect(h.mirror.legFailure).toBe(true);
    const start = h.timeline.entries.length;
    const second = h.write(16, 8);
    h.settle();
    expect([first.done, second.done]).toEqual([false, false]);
    expect(h.mirror.heldCount).toBe(2);
    expect(h.textsSince(start, LEG_WRITES)).toEqual([]);
  });

  it('§4.4 with keep_log, writes to NOSYNC regions still go to the default leg after a leg failure', () => {
    const h = new MirrorHarness({ table: core(3, '2 handle_errors keep_log') });
    h.sim('leg2').faults.injectNext('write', 'error');
    h.write(16, 8);
    h.settle();
    const start = h.timeline.entries.length;
    const second = h.write(16, 8);
    h.settle();
    expect(second.error).toBeNull();
    expect(h.textsSince(start, LEG_WRITES)).toEqual(['leg0 write 16+8']);
  });
});

describe('after a default-leg switch (§4.3, §4.4, §4.6)', () => {
  it('§4.4 §4.6 NOSYNC writes and reads follow the new default leg; recovery copies from it', () => {
    const h = new MirrorHarness({ table: core(3, '2 handle_errors keep_log') });
    h.sim('leg0').faults.injectNext('write', 'error');
    const failed = h.write(16, 8, { fill: 1 });
    h.settle();
    expect(failed.error).toBeNull();
    expect(h.mirror.defaultLeg.index).toBe(1);
    const start = h.timeline.entries.length;
    h.write(16, 8, { fill: 2 });
    h.settle();
    const read = h.read(16, 8);
    h.settle();
    expect(h.textsSince(start, /^leg\d (write|read) \d+\+\d+$/)).toEqual([
      'leg1 write 16+8',
      'leg1 read 16+8',
    ]);
    expect(read.data![0]).toBe(2);
    h.suspend();
    h.resume();
    h.settle();
    expect(h.timeline.texts(/copy-read \d+\+\d+$/), 'the resync reads the new default').toEqual([
      'leg1 copy-read 16+8',
    ]);
    expect(h.legBytes('leg0', 16, 1)).toEqual([2]);
    expect(h.legBytes('leg2', 16, 1)).toEqual([2]);
  });
});

describe('log failure (§4.4, §4.6)', () => {
  it('§4.4 with handle_errors a failed log flush holds every write to an in-sync region, unattempted', () => {
    const h = new MirrorHarness({ table: disk('1 handle_errors') });
    h.sim('log0').faults.fail({ writes: true });
    const start = h.timeline.entries.length;
    const write = h.write(16, 8);
    h.settle();
    expect(write.done).toBe(false);
    expect(h.mirror.logFailure).toBe(true);
    expect(h.mirror.heldCount).toBe(1);
    expect(h.textsSince(start, LEG_WRITES)).toEqual([]);
    expect(h.events).toEqual(['mirror in sync', 'dirty log device "log0" failed']);
    expect(h.status('info')).toBe('2 leg0 leg1 16/16 1 AA 3 disk log0 D');
    expect(h.mirror.rh.lookup(2)?.state, 'no mark_nosync while the log has failed').toBe(2);
  });

  it('§4.4 with keep_log writes to in-sync regions fail with EIO once the log has failed', () => {
    const h = new MirrorHarness({ table: disk('2 handle_errors keep_log') });
    h.sim('log0').faults.fail({ writes: true });
    const write = h.write(16, 8);
    h.settle();
    expect(write.error).toBe('EIO');
    expect(h.mirror.heldCount).toBe(0);
  });

  it('§4.4 without handle_errors a failed log is ignored and writes proceed', () => {
    const h = new MirrorHarness({ table: disk() });
    h.sim('log0').faults.fail({ writes: true });
    const start = h.timeline.entries.length;
    const write = h.write(16, 8);
    h.settle();
    expect(write.error).toBeNull();
    expect(h.mirror.logFailure).toBe(true);
    expect(h.textsSince(start, LEG_WRITES)).toEqual(['leg0 write 16+8', 'leg1 write 16+8']);
  });

  it('§4.4 log_failure is sticky: a later successful log flush does not reset it', () => {
    const h = new MirrorHarness({ table: disk('1 handle_errors') });
    h.sim('log0').faults.injectNext('write', 'error');
    h.write(16, 8);
    h.settle();
    const start = h.timeline.entries.length;
    const later = h.write(32, 8);
    h.settle();
    expect(h.textsSince(start, /^log flush -> /)).toContain('log flush -> 0');
    expect(later.done).toBe(false);
    expect(h.mirror.heldCount).toBe(2);
    expect(h.mirror.logFailure).toBe(true);
  });

  it('§4.8 with a failed log and handle_errors a PREFLUSH is held too', () => {
    const h = new MirrorHarness({ table: disk('1 handle_errors') });
    h.sim('log0').faults.fail({ writes: true });
    h.write(16, 8);
    const flush = h.flush();
    h.settle();
    expect(flush.done).toBe(false);
    expect(h.mirror.heldCount).toBe(2);
    expect(h.mirror.rh.flushFailure, 'no mark_nosync, so no flush_failure').toBe(false);
  });
});
