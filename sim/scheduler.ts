/**
 * The deterministic scheduler: virtual time in integer ticks (1 tick = 1 µs)
 * and a bounded event queue ordered by (time, sequence), so events due at the
 * same tick run in the order they were scheduled, never by a sort's whim.
 */
import { assert, InvariantError } from '../src/assert.js';
import type { ScheduledEvent, Scheduler } from '../src/world/scheduler.js';
import { Trace } from './trace.js';

/** Thrown when a run exceeds its step budget: a liveness failure, not a crash. */
export class StepLimitError extends Error {
  override name = 'StepLimitError';
}

class QueuedEvent implements ScheduledEvent {
  cancelled = false;
  constructor(
    readonly timeTicks: number,
    readonly sequence: number,
    readonly label: string,
    readonly callback: () => void,
    readonly detail: number,
  ) {}
}

export interface DeterministicSchedulerOptions {
  /** Most events that may be pending at once (default 4,000,000). */
  readonly pendingEventsMax?: number;
  /** Trace records kept for display (default 0). */
  readonly traceRecentCapacity?: number;
}

export interface RunOptions {
  /** Most events this call may run before it throws {@link StepLimitError}. */
  readonly stepsMax?: number;
}

const STEPS_MAX_DEFAULT = 2_000_000_000;

export class DeterministicScheduler implements Scheduler {
  readonly traceLog: Trace;
  private readonly heap: QueuedEvent[] = [];
  private readonly pendingEventsMax: number;
  private timeTicks = 0;
  private sequenceNext = 0;
  private stepCount = 0;
  private liveCount = 0;

  constructor(options: DeterministicSchedulerOptions = {}) {
    this.pendingEventsMax = options.pendingEventsMax ?? 4_000_000;
    this.traceLog = new Trace(options.traceRecentCapacity ?? 0);
  }

  now(): number {
    return this.timeTicks;
  }

  /** Events run so far. */
  get steps(): number {
    return this.stepCount;
  }

  /** Events scheduled and neither run nor cancelled. */
  get pendingCount(): number {
    return this.liveCount;
  }

  /** The time of the next pending event, or undefined when idle. */
  nextEventTime(): number | undefined {
    this.dropCancelledHead();
    return this.heap[0]?.timeTicks;
  }

  schedule(delayTicks: number, label: string, callback: () => void, detail = 0): ScheduledEvent {
    if (!Number.isSafeInteger(delayTicks) || delayTicks < 0) {
      throw new RangeError(`Event "${label}" delay ${delayTicks} is not an integer ≥ 0 ticks`);
    }
    if (this.liveCount >= this.pendingEventsMax) {
      throw new InvariantError(
        `Event queue is full (${this.pendingEventsMax} pending) while scheduling "${label}"`,
      );
    }
    const event = new QueuedEvent(
      this.timeTicks + delayTicks,
      this.sequenceNext++,
      label,
      callback,
      detail,
    );
    this.push(event);
    this.liveCount++;
    return event;
  }

  cancel(event: ScheduledEvent): void {
    assert(event instanceof QueuedEvent, 'cancel() got an event from another scheduler');
    if (event.cancelled) return;
    event.cancelled = true;
    this.liveCount--;
  }

  trace(label: string, detail = 0): void {
    this.traceLog.record(this.timeTicks, label, detail, false);
  }

  /** The hash of the whole trace so far (16 hex digits). */
  traceHash(): string {
    return this.traceLog.hash();
  }

  /** Runs the next event. Returns false when nothing is pending. */
  step(): boolean {
    this.dropCancelledHead();
    const event = this.pop();
    if (event === undefined) return false;
    assert(event.timeTicks >= this.timeTicks, 'event queue went back in time');
    this.timeTicks = event.timeTicks;
    this.liveCount--;
    this.stepCount++;
    this.traceLog.record(event.timeTicks, event.label, event.detail, true);
    event.callback();
    return true;
  }

  /** Runs until nothing is pending. Returns the number of events run. */
  runUntilIdle(options: RunOptions = {}): number {
    const stepsMax = options.stepsMax ?? STEPS_MAX_DEFAULT;
    let steps = 0;
    while (this.step()) {
      steps++;
      if (steps >= stepsMax && this.liveCount > 0) {
        throw new StepLimitError(`Still busy after ${steps} events (limit ${stepsMax})`);
      }
    }
    return steps;
  }

  /** Alias of {@link runUntilIdle}. */
  run(options: RunOptions = {}): number {
    return this.runUntilIdle(options);
  }

  /**
   * Runs events until `predicate` holds (checked before each event and after
   * the last) or the queue is empty. Returns whether the predicate held.
   */
  runUntil(predicate: () => boolean, options: RunOptions = {}): boolean {
    const stepsMax = options.stepsMax ?? STEPS_MAX_DEFAULT;
    let steps = 0;
    while (!predicate()) {
      if (!this.step()) return predicate();
      steps++;
      if (steps >= stepsMax) {
        throw new StepLimitError(`Condition not reached after ${steps} events (limit ${stepsMax})`);
      }
    }
    return true;
  }

  /** Runs every event due at or before `timeTicks`, then sets the clock to it. */
  runUntilTime(timeTicks: number, options: RunOptions = {}): number {
    if (!Number.isSafeInteger(timeTicks) || timeTicks < this.timeTicks) {
      throw new RangeError(`Time ${timeTicks} is not an integer ≥ now (${this.timeTicks})`);
    }
    const stepsMax = options.stepsMax ?? STEPS_MAX_DEFAULT;
    let steps = 0;
    for (;;) {
      const next = this.nextEventTime();
      if (next === undefined || next > timeTicks) break;
      this.step();
      steps++;
      if (steps >= stepsMax) {
        throw new StepLimitError(
          `Not at time ${timeTicks} after ${steps} events (limit ${stepsMax})`,
        );
      }
    }
    this.timeTicks = timeTicks;
    return steps;
  }

  /** Advances the clock by `ticks`, running every event due meanwhile. */
  runFor(ticks: number, options: RunOptions = {}): number {
    return this.runUntilTime(this.timeTicks + ticks, options);
  }

  /** Drops every pending event: what a crash does to everything in memory. */
  clear(): number {
    const dropped = this.liveCount;
    for (const event of this.heap) event.cancelled = true;
    this.heap.length = 0;
    this.liveCount = 0;
    this.trace('scheduler.clear', dropped);
    return dropped;
  }

  private dropCancelledHead(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
  }

  private push(event: QueuedEvent): void {
    const heap = this.heap;
    let index = heap.length;
    heap.push(event);
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (!before(event, parent)) break;
      heap[index] = parent;
      index = parentIndex;
    }
    heap[index] = event;
  }

  private pop(): QueuedEvent | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop()!;
    const length = heap.length;
    if (length === 0) return top;
    let index = 0;
    for (;;) {
      const leftIndex = 2 * index + 1;
      if (leftIndex >= length) break;
      const rightIndex = leftIndex + 1;
      let childIndex = leftIndex;
      if (rightIndex < length && before(heap[rightIndex]!, heap[leftIndex]!))
        childIndex = rightIndex;
      const child = heap[childIndex]!;
      if (!before(child, last)) break;
      heap[index] = child;
      index = childIndex;
    }
    heap[index] = last;
    return top;
  }
}

function before(left: QueuedEvent, right: QueuedEvent): boolean {
  return (
    left.timeTicks < right.timeTicks ||
    (left.timeTicks === right.timeTicks && left.sequence < right.sequence)
  );
}
