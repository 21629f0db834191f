import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Blocking } from '../../src/concurrency/blocking.js';
import { Bio } from '../../src/dm/bio.js';
import { DELAYED_WAKE_TICKS } from '../../src/mirror/mirror-set.js';
import {
  MirrorHarness,
  registerRecordingLogTypes,
  unregisterRecordingLogTypes,
} from './mirror-test-kit.js';

beforeAll(registerRecordingLogTypes);
afterAll(unregisterRecordingLogTypes);

const CORE_NOSYNC = '0 128 mirror rec-core 2 8 nosync 2 leg0 0 leg1 0';
const CORE = '0 128 mirror rec-core 1 8 2 leg0 0 leg1 0';

type PassStep = (...args: unknown[]) => Blocking<void>;

/** Records each step of every kmirrord pass in the timeline by wrapping the steps in place. */
function tracePassSteps(h: MirrorHarness): void {
  const mirror = h.mirror as unknown as Record<string, PassStep>;
  for (const name of ['doRecovery', 'doReads', 'doWrites', 'doFailures']) {
    const original = mirror[name]!.bind(h.mirror);
    mirror[name] = function* (...args: unknown[]): Blocking<void> {
      h.timeline.record(`step ${name}`);
      yield* original(...args);
    };
  }
  const rh = h.mirror.rh as unknown as Record<string, PassStep>;
  const updateStates = rh.updateStates!.bind(h.mirror.rh);
  rh.updateStates = function* (...args: unknown[]): Blocking<void> {
    h.timeline.record('step updateStates');
    yield* updateStates(...args);
  };
}

describe('the kmirrord worker (§4.4, §9)', () => {
  it('§4.1 §3.1 the constructor wakes kmirrord once; recovery waits for the first resume', () => {
    const h = new MirrorHarness({ table: CORE, activate: false });
    expect(h.mirror.stats.kmirrordPasses).toBe(1);
    expect(h.timeline.texts(/^log (?!in_sync)/)).toEqual(['log flush', 'log flush -> 0']);
    h.runFor(1_000_000);
    expect(h.mirror.stats.kmirrordPasses).toBe(1);
    h.resume();
    h.settle();
    expect(h.timeline.texts(/get_resync_work/)[0]).toBe('log get_resync_work -> region 0');
    expect(h.mirror.stats.regionsRecovered).toBe(16);
  });

  it('§4.5 with a nosync log the constructor pass already finds the set in sync and raises the event', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC, activate: false });
    expect(h.events).toEqual(['mirror in sync']);
    expect(h.mirror.inSync).toBe(true);
  });

  it('§4.4 mirror_map queues every write, PREFLUSH and discard for kmirrord, saving the write region', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC });
    const bios = [
      new Bio('write', 21, 3, new Uint8Array(3 * 512), false, false, () => {}),
      new Bio('flush', 0, 0, null, false, false, () => {}),
      new Bio('discard', 40, 8, null, false, false, () => {}),
    ];
    for (const bio of bios) expect(h.mirror.map(bio)).toEqual({ kind: 'submitted' });
    expect(bios[0]!.writeRegion).toBe(2);
    expect(h.timeline.texts(/^leg/), 'nothing is issued from map').toEqual([]);
  });

  it('§4.4 a kmirrord pass runs update_states → recovery → reads → writes → failures', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC });
    tracePassSteps(h);
    const start = h.timeline.entries.length;
    h.write(16, 8);
    h.settle();
    const steps = h.textsSince(start, /^step /);
    expect(steps.length % 5).toBe(0);
    expect(steps.slice(0, 5)).toEqual([
      'step updateStates',
      'step doRecovery',
      'step doReads',
      'step doWrites',
      'step doFailures',
    ]);
    expect(new Set(steps.slice(5, 10))).toEqual(new Set(steps.slice(0, 5)));
  });

  it('§4.4 reads are issued before writes within a pass, whatever order they arrived in', () => {
    const h = new MirrorHarness({ table: CORE, settle: false });
    h.runUntil(() => h.timeline.indexOf('log set_region_sync 2 1') >= 0, 'region 2 recovered');
    const start = h.timeline.entries.length;
    h.write(16, 8);
    h.read(120, 8);
    h.runUntil(() => h.timeline.indexOf('leg0 write 16+8') >= 0, 'the write was issued');
    expect(h.textsSince(start, /^(leg0 read \d+\+\d+|log mark \d+|leg0 write \d+\+\d+)$/)).toEqual([
      'leg0 read 120+8',
      'log mark 2',
      'leg0 write 16+8',
    ]);
  });

  it('§4.4 one pass takes every write queued before it: one log flush covers all their marks', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC });
    const passes = h.mirror.stats.kmirrordPasses;
    const start = h.timeline.entries.length;
    h.write(8, 8);
    h.write(16, 8);
    h.write(24, 8);
    h.runUntil(() => h.timeline.indexOf('leg1 write 24+8') >= 0, 'the writes were issued');
    expect(h.mirror.stats.kmirrordPasses).toBe(passes + 1);
    expect(h.textsSince(start, /^log (mark|flush$)/)).toEqual([
      'log flush',
      'log mark 1',
      'log mark 2',
      'log mark 3',
      'log flush',
    ]);
  });

  it('§9 dm_rh_dec reaching 0 wakes kmirrord, whose update_states clears the region at once', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC });
    const write = h.write(16, 8);
    h.settle();
    expect(h.timeline.timeOf('log clear 2')).toBe(write.timeTicks);
  });

  it('§4.4 §4.1 writes to a region another node recovers are requeued and retried every HZ/5 (one timer for all)', () => {
    const h = new MirrorHarness({ table: CORE_NOSYNC, remoteRecovering: [2, 3] });
    const t0 = h.world.scheduler.now();
    const held = [h.write(16, 8), h.write(24, 8)];
    const free = h.write(32, 8);
    const flush = h.flush();
    h.runFor(3 * DELAYED_WAKE_TICKS + 1);
    expect(free.done && flush.done).toBe(true);
    expect(held.some((write) => write.done)).toBe(false);
    const asked = h.timeline.entries
      .filter((entry) => /^log is_remote_recovering [23] -> 1$/.test(entry.text))
      .map((entry) => entry.timeTicks - t0);
    // Requeued writes sit on ms->writes: any pass retries them, here the one the free write's
    // completion woke at tick 20; otherwise only the timer, armed once per HZ/5, wakes the worker.
    expect(asked).toEqual([0, 0, 20, 20, 200_000, 200_000, 400_000, 400_000, 600_000, 600_000]);
    expect(h.timeline.texts(/is_remote_recovering 4/), 'asked for the free write too').toEqual([
      'log is_remote_recovering 4 -> 0',
    ]);
    h.hooks.remoteRecovering!.clear();
    h.settle();
    expect(held.every((write) => write.done && write.error === null)).toBe(true);
    expect(h.world.scheduler.now() - t0).toBe(4 * DELAYED_WAKE_TICKS + 20);
  });
});
