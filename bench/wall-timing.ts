/**
 * Wall-clock timing of workload phases, and the statistics of repeated
 * samples. The clock is passed in: bench/ code never picks one itself, so
 * tests can drive it.
 */

import type { BenchHooks } from '../sim/scenario/bench-scenario.js';
import { assert } from '../src/assert.js';

/** Runs `body` with hooks that read the wall clock around its workload phase. */
export function timed<T>(
  wallClockMs: () => number,
  body: (hooks: BenchHooks) => T,
): { value: T; wallMs: number } {
  let startMs: number | undefined;
  let endMs: number | undefined;
  const value = body({
    onWorkloadStart: () => {
      startMs = wallClockMs();
    },
    onWorkloadEnd: () => {
      endMs = wallClockMs();
    },
  });
  assert(startMs !== undefined && endMs !== undefined, 'the workload phase was not timed');
  return { value, wallMs: endMs - startMs };
}

/** Requests per second of a phase that took `wallMs` milliseconds. */
export function opsPerSecond(requests: number, wallMs: number): number {
  // A phase too short for the clock still ran: count it as one microsecond.
  return (requests * 1000) / Math.max(wallMs, 0.001);
}

/** `items` rotated left by `count`. */
export function rotate<T>(items: readonly T[], count: number): T[] {
  const shift = count % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/** The median (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
