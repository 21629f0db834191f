import { describe, expect, it } from 'vitest';
import { World } from '../../../../sim/world.js';
import { type Blocking, spawn, waitFor } from '../../../../src/concurrency/blocking.js';
import { DelayedWork } from '../../../../src/log/userspace/_internals/delayed-work.js';
import { invariantMessage } from '../../../assert-test-kit.js';

/** A work item that records when it ran and takes `durationTicks` to finish. */
function harness(durationTicks = 0) {
  const world = new World({ seed: 1 });
  const runs: number[] = [];
  function* work(): Blocking<void> {
    runs.push(world.scheduler.now());
    if (durationTicks > 0) {
      yield* waitFor<void>((resume) => {
        world.scheduler.schedule(durationTicks, 'work', () => resume());
      });
    }
  }
  return { world, runs, work: new DelayedWork(world.scheduler, 'test.work', work) };
}

describe('DelayedWork (the deferred flush’s delayed_work, §2.3)', () => {
  it('runs once after its delay; queueing again while pending changes nothing', () => {
    const { world, runs, work } = harness();
    expect(work.queue(100)).toBe(true);
    expect(work.queue(5)).toBe(false);
    world.scheduler.runUntilIdle();
    expect(runs).toEqual([100]);
    expect(work.pending).toBe(false);
  });

  it('cancel disarms a pending timer', () => {
    const { world, runs, work } = harness();
    work.queue(100);
    expect(work.cancel()).toBe(true);
    expect(work.cancel()).toBe(false);
    world.scheduler.runUntilIdle();
    expect(runs).toEqual([]);
  });

  it('flush runs a pending work at once and waits for it to finish', () => {
    const { world, runs, work } = harness(30);
    work.queue(1000);
    let flushed = -1;
    spawn(work.flush(), () => {
      flushed = world.scheduler.now();
    });
    world.scheduler.runUntilIdle();
    expect(runs).toEqual([0]);
    expect(flushed).toBe(30);
  });

  it('a timer that fires while the work runs makes it run again after, never overlapping', () => {
    const { world, runs, work } = harness(50);
    work.queue(10);
    world.scheduler.runUntil(() => work.isRunning);
    work.queue(20);
    world.scheduler.runUntilIdle();
    expect(runs).toEqual([10, 60]);
  });

  it('is pending from queue until its timer fires or it is cancelled', () => {
    const { world, work } = harness(50);
    expect(work.pending).toBe(false);
    work.queue(10);
    expect(work.pending).toBe(true);
    expect(work.isRunning).toBe(false);
    world.scheduler.runUntil(() => work.isRunning);
    expect(work.pending).toBe(false);
    work.queue(100);
    expect(work.pending).toBe(true);
    work.cancel();
    expect(work.pending).toBe(false);
  });

  it('flush while the work runs with its timer pending runs it once more after, and waits for that run', () => {
    const { world, runs, work } = harness(50);
    work.queue(10);
    world.scheduler.runUntil(() => work.isRunning);
    work.queue(1000);
    let flushed = -1;
    spawn(work.flush(), () => {
      flushed = world.scheduler.now();
    });
    expect(work.pending).toBe(false);
    world.scheduler.runUntilIdle();
    expect(runs).toEqual([10, 60]);
    expect(flushed).toBe(110);
  });

  it('starting a run while one is in progress is a broken invariant', () => {
    const { world, work } = harness(50);
    work.queue(10);
    world.scheduler.runUntil(() => work.isRunning);
    // No public path starts an overlapping run: reach in to break the invariant.
    const internals = work as unknown as { start(): void };
    expect(invariantMessage(() => internals.start())).toBe(
      'test.work started while already running',
    );
  });

  it('a run that ends while the work is not marked running is a broken invariant', () => {
    const { world, work } = harness(50);
    work.queue(10);
    world.scheduler.runUntil(() => work.isRunning);
    // Reach in to clear the running flag under the run; its end must notice.
    (work as unknown as { running: boolean }).running = false;
    expect(invariantMessage(() => world.scheduler.runUntilIdle())).toBe(
      'test.work finished without running',
    );
  });
});
