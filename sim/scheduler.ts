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
const HEAP_CAPACITY_INITIAL = 1024;

export class DeterministicScheduler implements Scheduler {
  readonly traceLog: Trace;
  /**
   * A binary min-heap ordered by (time, sequence). The keys live in typed
   * arrays beside the events so that sifting compares numbers in two compact
   * arrays instead of fields of objects scattered through memory.
   */
  private heapEvents: (QueuedEvent | undefined)[] = [];
  private heapTimes = new Float64Array(HEAP_CAPACITY_INITIAL);
  private heapSequences = new Float64Array(HEAP_CAPACITY_INITIAL);
  private heapLength = 0;
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
    return this.heapLength > 0 ? this.heapTimes[0] : undefined;
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
    // Cancelled events wait in the heap until they reach the top; compact when they outnumber
    // the live ones, so memory stays bounded by the pending-event limit.
    const cancelledInHeap = this.heapLength - this.liveCount;
    if (cancelledInHeap > 1024 && cancelledInHeap > this.liveCount) this.compact();
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
    // A run event is no longer live: cancelling it later must not count it twice.
    event.cancelled = true;
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
      // The limit is on events run: the last allowed event may still satisfy the predicate.
      if (steps >= stepsMax) {
        throw new StepLimitError(`Condition not reached after ${steps} events (limit ${stepsMax})`);
      }
      if (!this.step()) return predicate();
      steps++;
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
      if (steps >= stepsMax) {
        throw new StepLimitError(
          `Not at time ${timeTicks} after ${steps} events (limit ${stepsMax})`,
        );
      }
      this.step();
      steps++;
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
    for (let index = 0; index < this.heapLength; index++) this.heapEvents[index]!.cancelled = true;
    this.heapEvents = [];
    this.heapLength = 0;
    this.liveCount = 0;
    this.trace('scheduler.clear', dropped);
    return dropped;
  }

  /** Rebuilds the heap from its live events; a sorted array is a valid heap. */
  private compact(): void {
    const live: QueuedEvent[] = [];
    for (let index = 0; index < this.heapLength; index++) {
      const event = this.heapEvents[index]!;
      if (!event.cancelled) live.push(event);
    }
    assert(live.length === this.liveCount, 'live event count disagrees with the heap');
    live.sort((left, right) => left.timeTicks - right.timeTicks || left.sequence - right.sequence);
    for (let index = 0; index < live.length; index++) {
      const event = live[index]!;
      this.heapTimes[index] = event.timeTicks;
      this.heapSequences[index] = event.sequence;
      this.heapEvents[index] = event;
    }
    for (let index = live.length; index < this.heapLength; index++)
      this.heapEvents[index] = undefined;
    this.heapLength = live.length;
  }

  private dropCancelledHead(): void {
    while (this.heapLength > 0 && this.heapEvents[0]!.cancelled) this.pop();
  }

  private push(event: QueuedEvent): void {
    if (this.heapLength === this.heapTimes.length) this.growHeap();
    const times = this.heapTimes;
    const sequences = this.heapSequences;
    const events = this.heapEvents;
    const time = event.timeTicks;
    const sequence = event.sequence;
    let index = this.heapLength++;
    while (index > 0) {
      const parentIndex = (index - 1) >> 2;
      const parentTime = times[parentIndex]!;
      if (parentTime < time || (parentTime === time && sequences[parentIndex]! < sequence)) break;
      times[index] = parentTime;
      sequences[index] = sequences[parentIndex]!;
      events[index] = events[parentIndex];
      index = parentIndex;
    }
    times[index] = time;
    sequences[index] = sequence;
    events[index] = event;
  }

  private pop(): QueuedEvent | undefined {
    if (this.heapLength === 0) return undefined;
    const times = this.heapTimes;
    const sequences = this.heapSequences;
    const events = this.heapEvents;
    const top = events[0];
    const length = --this.heapLength;
    const lastTime = times[length]!;
    const lastSequence = sequences[length]!;
    const last = events[length];
    events[length] = undefined;
    if (length === 0) return top;
    // A 4-ary heap: half the depth of a binary one, and siblings share a cache line.
    let index = 0;
    for (;;) {
      const first = 4 * index + 1;
      if (first >= length) break;
      let child = first;
      let childTime = times[first]!;
      let childSequence = sequences[first]!;
      const end = first + 4 < length ? first + 4 : length;
      for (let sibling = first + 1; sibling < end; sibling++) {
        const siblingTime = times[sibling]!;
        if (
          siblingTime < childTime ||
          (siblingTime === childTime && sequences[sibling]! < childSequence)
        ) {
          child = sibling;
          childTime = siblingTime;
          childSequence = sequences[sibling]!;
        }
      }
      if (lastTime < childTime || (lastTime === childTime && lastSequence < childSequence)) break;
      times[index] = childTime;
      sequences[index] = childSequence;
      events[index] = events[child];
      index = child;
    }
    times[index] = lastTime;
    sequences[index] = lastSequence;
    events[index] = last;
    return top;
  }

  private growHeap(): void {
    const times = new Float64Array(this.heapTimes.length * 2);
    times.set(this.heapTimes);
    this.heapTimes = times;
    const sequences = new Float64Array(this.heapSequences.length * 2);
    sequences.set(this.heapSequences);
    this.heapSequences = sequences;
  }
}
