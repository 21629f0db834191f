import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTask } from '../../sim/run-task.js';
import {
  MirrorHarness,
  registerRecordingLogTypes,
  unregisterRecordingLogTypes,
} from './mirror-test-kit.js';

beforeAll(registerRecordingLogTypes);
afterAll(unregisterRecordingLogTypes);

const DISK = '0 128 mirror rec-disk 2 log0 8 2 leg0 0 leg1 0';
const CORE = '0 128 mirror rec-core 1 8 2 leg0 0 leg1 0';
const CORE_NOSYNC = '0 128 mirror rec-core 2 8 nosync 2 leg0 0 leg1 0';

/** Leaves region 5 out of sync (a write that failed on leg1, no handle_errors): legs differ there. */
function divergeRegion5(h: MirrorHarness): void {
  h.sim('leg1').faults.injectNext('write', 'error');
  h.write(40, 8, { fill: 0x77 });
  h.settle();
  expect(h.legBytes('leg0', 40, 1)).toEqual([0x77]);
  expect(h.legBytes('leg1', 40, 1)).toEqual([0]);
}

describe('suspend and resume (§4.7)', () => {
  it('§4.7 suspend: recovery is stopped after the region in flight, I/O drains, then postsuspend runs the disk log flush', () => {
    const h = new MirrorHarness({ table: DISK, settle: false });
    h.runUntil(() => h.timeline.indexOf('leg0 copy-read 8+8') >= 0, 'region 1 being copied');
    const start = h.timeline.entries.length;
    h.suspend();
    expect(
      h.textsSince(start, /copy-write|set_region_sync|get_resync_work|postsuspend$|^log0 /),
    ).toEqual([
      'leg1 copy-write 8+8',
      'leg1 copy-write 8+8 done',
      'log set_region_sync 1 1',
      // update_states' flush persists the recovered region; postsuspend then finds nothing touched.
      'log0 write 0+3',
      'log0 write 0+3 done',
      'log0 flush',
      'log0 flush done',
      'log postsuspend',
    ]);
    const suspendedAt = h.timeline.entries.length;
    h.runFor(1_000_000);
    expect(h.textsSince(suspendedAt), 'nothing runs while suspended').toEqual([]);
    h.resume();
    h.settle();
    const copies = h.textsSince(suspendedAt, /copy-read \d+\+\d+$/);
    expect(copies[0], 'regions 0 and 1 were recorded clean on disk').toBe('leg0 copy-read 16+8');
    expect(copies).toHaveLength(14);
    expect(h.textsSince(suspendedAt, /^log (resume|get_resync_work)/).slice(0, 3)).toEqual([
      'log resume',
      'log resume -> 0',
      'log get_resync_work -> region 2',
    ]);
  });

  it('§4.7 presuspend waits for recovery and flushes kmirrord, so a write delayed by recovery completes before the suspend does', () => {
    const h = new MirrorHarness({ table: CORE, settle: false });
    const write = h.write(0, 8);
    h.runUntil(() => h.timeline.indexOf('leg0 copy-read 0+8') >= 0, 'region 0 being copied');
    expect(write.done).toBe(false);
    h.suspend();
    expect(write.done).toBe(true);
    expect(write.error).toBeNull();
    expect(h.device.inFlight).toBe(0);
    expect(h.legBytes('leg1', 0, 8)).toEqual(new Array(8).fill(0xab));
  });

  it('§4.7 I/O that arrives while the device is suspended waits, then runs after resume', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC });
    h.suspend();
    const start = h.timeline.entries.length;
    const write = h.write(16, 8);
    h.runFor(1_000_000);
    expect(write.done).toBe(false);
    expect(h.device.deferredCount).toBe(1);
    expect(h.textsSince(start, /^leg/)).toEqual([]);
    h.resume();
    h.settle();
    expect(write.error).toBeNull();
  });

  it('§2.5 §4.7 a core log keeps its state across a suspend and resume of the same table', () => {
    const h = new MirrorHarness({ table: CORE });
    expect(h.mirror.stats.regionsRecovered).toBe(16);
    h.suspend();
    h.resume();
    h.settle();
    expect(h.mirror.stats.regionsRecovered).toBe(16);
    expect(h.status('info')).toBe('2 leg0 leg1 16/16 1 AA 1 core');
  });

  it('§5.5 a reload with a core log resyncs every region; with nosync it resyncs none', () => {
    const h = new MirrorHarness({ table: CORE });
    h.reload(CORE);
    h.settle();
    expect(h.mirror.stats.regionsRecovered).toBe(16);
    h.reload(CORE_NOSYNC);
    h.settle();
    expect(h.mirror.stats.regionsRecovered).toBe(0);
    expect(h.status('info')).toBe('2 leg0 leg1 16/16 1 AA 1 core');
  });

  it('§5.4 §5.5 a reload with a disk log resyncs only the regions the log still has out of sync', () => {
    const h = new MirrorHarness({ table: DISK });
    h.write(16, 8);
    h.write(96, 8);
    h.settle();
    divergeRegion5(h);
    h.reload(DISK);
    h.settle();
    expect(h.mirror.stats.regionsRecovered).toBe(1);
    expect(h.timeline.texts(/copy-read \d+\+\d+$/).at(-1)).toBe('leg0 copy-read 40+8');
    expect(h.legBytes('leg1', 40, 1)).toEqual([0x77]);
  });

  it('§2.5 §5.5 `nosync` in the table ignores the dirty state on disk: the diverged region is never resynced', () => {
    const h = new MirrorHarness({ table: DISK });
    divergeRegion5(h);
    h.reload('0 128 mirror rec-disk 3 log0 8 nosync 2 leg0 0 leg1 0');
    h.settle();
    expect(h.mirror.stats.regionsRecovered).toBe(0);
    expect(h.status('info')).toBe('2 leg0 leg1 16/16 1 AA 3 disk log0 A');
    expect(h.legBytes('leg1', 40, 1), 'the legs still differ').toEqual([0]);
    const reads = [h.read(40, 8)];
    h.settle();
    expect(reads[0]!.data![0], 'reads come from the default leg').toBe(0x77);
  });

  it('§4.7 a reload destroys the old table only after the new one has resumed; remove destroys the live one', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC });
    const start = h.timeline.entries.length;
    h.reload(CORE_NOSYNC);
    expect(h.textsSince(start, /^log (resume|destroy|postsuspend)$/)).toEqual([
      'log resume',
      'log destroy',
    ]);
    expect(h.logs).toHaveLength(2);
    runTask(h.world.scheduler, h.device.remove());
    expect(h.timeline.texts(/^log destroy$/)).toHaveLength(2);
    expect(h.device.target).toBeNull();
  });
});
