/**
 * The scheduler interface the library runs on. `src/` never reads a clock
 * or starts a timer: everything that happens later is an event on this
 * queue, and the caller (normally `sim/`'s deterministic scheduler) decides
 * what time it is.
 *
 * Time is counted in integer ticks. One tick is one microsecond of
 * simulated time ({@link TICKS_PER_MILLISECOND}).
 */

/** Simulated microseconds per tick is 1; these convert from human units. */
export const TICKS_PER_MICROSECOND = 1;
export const TICKS_PER_MILLISECOND = 1000;
export const TICKS_PER_SECOND = 1_000_000;

/** A scheduled event that has not run yet; pass it to {@link Scheduler.cancel}. */
export interface ScheduledEvent {
  readonly timeTicks: number;
  readonly label: string;
}

export interface Scheduler {
  /** The current simulated time in ticks. Never decreases. */
  now(): number;
  /**
   * Runs `callback` once, `delayTicks` (an integer ≥ 0) from now. Events at
   * the same time run in the order they were scheduled. `label` names the
   * event in the trace; `detail` is an optional integer recorded with it.
   */
  schedule(
    delayTicks: number,
    label: string,
    callback: () => void,
    detail?: number,
  ): ScheduledEvent;
  /** Removes an event that has not run yet. Cancelling twice is allowed. */
  cancel(event: ScheduledEvent): void;
  /**
   * Records a point in the trace that is not an event (a decision, a state
   * change), so it takes part in the trace hash.
   */
  trace(label: string, detail?: number): void;
}
