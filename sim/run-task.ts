/**
 * Runs a blocking task (suspend, resume, status, a log call) to completion
 * by running the world's scheduler, with a step budget so a task that can
 * never finish is reported instead of spinning forever.
 */
import { assert } from '../src/assert.js';
import { type Blocking, spawn } from '../src/concurrency/blocking.js';
import type { DeterministicScheduler } from './scheduler.js';

export function runTask<T>(
  scheduler: DeterministicScheduler,
  task: Blocking<T>,
  options: { readonly stepsMax?: number; readonly what?: string } = {},
): T {
  let finished = false;
  let result: T | undefined;
  spawn(task, (value) => {
    finished = true;
    result = value;
  });
  if (!finished) scheduler.runUntil(() => finished, { stepsMax: options.stepsMax ?? 50_000_000 });
  assert(finished, `${options.what ?? 'task'} did not finish: the simulation went idle first`);
  return result as T;
}
