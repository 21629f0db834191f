/**
 * A simulator extension of the dirty log (not kernel API), for the mirror's
 * sparse resync (src/mirror/sparse-resync.ts): the kernel's per-region
 * resync calls — `get_resync_work`, then for each recovered region
 * `clear_region` and `set_region_sync(region, 1)` — over a run of
 * consecutive regions at once, with exactly the state the same calls
 * region by region, in the kernel's order, would leave. A log that does
 * not implement it is always resynced region by region.
 *
 * @example
 * ```ts
 * const runLog = resyncRunLogOf(log);
 * const first = runLog?.peekResyncWork() ?? -1;     // -1: no work
 * const count = runLog!.takeResyncRun(first, end);  // get_resync_work × count
 * runLog!.completeResyncRun(first, count);          // clear + set_region_sync × count
 * ```
 */
import type { DirtyLog } from './dirty-log.js';

/** The run-at-once resync calls (see the file comment). */
export interface ResyncRunLog {
  /** The region `get_resync_work` would hand out now, without handing it out; -1 for none. */
  peekResyncWork(): number;
  /**
   * `get_resync_work` called while it hands out `first`, `first + 1`, …
   * below `end`: marks those regions recovering and moves the cursor past
   * them. `first` must be {@link peekResyncWork}'s answer. Returns how many
   * it handed out (at least 1).
   */
  takeResyncRun(first: number, end: number): number;
  /** For each region of `[first, first + count)` in order: `clear_region`, `set_region_sync(…, 1)`. */
  completeResyncRun(first: number, count: number): void;
}

/** The log's run-at-once resync calls, or null when it resyncs region by region only. */
export function resyncRunLogOf(log: DirtyLog): ResyncRunLog | null {
  const candidate = log as Partial<ResyncRunLog>;
  return typeof candidate.peekResyncWork === 'function' &&
    typeof candidate.takeResyncRun === 'function' &&
    typeof candidate.completeResyncRun === 'function'
    ? (log as DirtyLog & ResyncRunLog)
    : null;
}
