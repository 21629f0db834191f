/**
 * Runs a blocking task (suspend, resume, status, a log call) to completion
 * by running the world's scheduler, with a step budget so a task that can
 * never finish is reported instead of spinning forever.
 */
import { assert } from '../src/assert.js';
import { type Blocking, spawn } from '../src/concurrency/blocking.js';
import { type DeterministicScheduler, StepLimitError } from './scheduler.js';

/** Bounds on a task: events run, and (optionally) simulated ticks from the start. */
export interface RunTaskOptions {
  readonly stepsMax?: number;
  /** Simulated time the task may take; beyond it the task counts as hung (StepLimitError). */
  readonly ticksMax?: number;
  readonly what?: string;
}

/**
 * Runs `task` to completion. Throws StepLimitError when it needs more than
 * `stepsMax` events or `ticksMax` simulated ticks, and an InvariantError
 * when the world goes idle first.
 */
export function runTask<T>(
  scheduler: DeterministicScheduler,
  task: Blocking<T>,
  options: RunTaskOptions = {},
): T {
  let finished = false;
  let result: T | undefined;
  spawn(task, (value) => {
    finished = true;
    result = value;
  });
  const deadlineTicks = scheduler.now() + (options.ticksMax ?? Number.POSITIVE_INFINITY);
  if (!finished) {
    scheduler.runUntil(() => finished || scheduler.now() > deadlineTicks, {
      stepsMax: options.stepsMax ?? 50_000_000,
    });
  }
  if (!finished && scheduler.now() > deadlineTicks) {
    throw new StepLimitError(
      `${options.what ?? 'task'} did not finish within ${options.ticksMax} ticks of simulated time`,
    );
  }
  assert(finished, `${options.what ?? 'task'} did not finish: the simulation went idle first`);
  return result as T;
}
