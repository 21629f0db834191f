/**
 * A {@link Scheduler} on the wall clock, for the real log daemon process:
 * the daemon's request handler and its backing logs are written against
 * the simulator's scheduler interface, and this drives them with Node's
 * timers. One tick is one microsecond of real time here.
 */
import { performance } from 'node:perf_hooks';
import type { ScheduledEvent, Scheduler } from '../src/world/scheduler.js';

class RealTimeEvent implements ScheduledEvent {
  timeout: NodeJS.Timeout | null = null;
  immediate: NodeJS.Immediate | null = null;
  constructor(
    readonly timeTicks: number,
    readonly label: string,
  ) {}
}

/** Wall-clock time and Node timers behind the simulator's scheduler interface. */
export class RealTimeScheduler implements Scheduler {
  private readonly originMs = performance.now();
  private tracedCount = 0;

  /** Microseconds since this scheduler was made. */
  now(): number {
    return Math.floor((performance.now() - this.originMs) * 1000);
  }

  /** Runs `callback` after `delayTicks` µs; zero-delay events run in the order scheduled. */
  schedule(delayTicks: number, label: string, callback: () => void): ScheduledEvent {
    if (!Number.isSafeInteger(delayTicks) || delayTicks < 0) {
      throw new RangeError(`Event "${label}" delay ${delayTicks} is not an integer ≥ 0 ticks`);
    }
    const event = new RealTimeEvent(this.now() + delayTicks, label);
    const run = () => {
      event.timeout = null;
      event.immediate = null;
      callback();
    };
    if (delayTicks === 0) event.immediate = setImmediate(run);
    else event.timeout = setTimeout(run, delayTicks / 1000);
    return event;
  }

  /** Removes an event that has not run yet; cancelling twice is allowed. */
  cancel(event: ScheduledEvent): void {
    if (!(event instanceof RealTimeEvent)) return;
    if (event.timeout !== null) clearTimeout(event.timeout);
    if (event.immediate !== null) clearImmediate(event.immediate);
    event.timeout = null;
    event.immediate = null;
  }

  /** Trace points are only counted: a real process has no trace hash. */
  trace(): void {
    this.tracedCount++;
  }

  /** Trace points recorded so far. */
  get traced(): number {
    return this.tracedCount;
  }
}
