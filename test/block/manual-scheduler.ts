/**
 * A scheduler for tests that decide the order of completions by hand: every
 * scheduled event waits until the test fires it, whatever its delay, so a
 * test can complete W3 before W2 before W1 on a device with fixed latency.
 */
import type { ScheduledEvent, Scheduler } from '../../src/world/scheduler.js';

interface ManualEvent extends ScheduledEvent {
  readonly detail: number;
  readonly callback: () => void;
  cancelled: boolean;
}

export class ManualScheduler implements Scheduler {
  timeTicks = 0;
  readonly traces: Array<{ label: string; detail: number }> = [];
  private readonly queue: ManualEvent[] = [];

  now(): number {
    return this.timeTicks;
  }

  schedule(delayTicks: number, label: string, callback: () => void, detail = 0): ScheduledEvent {
    const event: ManualEvent = {
      timeTicks: this.timeTicks + delayTicks,
      label,
      detail,
      callback,
      cancelled: false,
    };
    this.queue.push(event);
    return event;
  }

  cancel(event: ScheduledEvent): void {
    (event as ManualEvent).cancelled = true;
  }

  trace(label: string, detail = 0): void {
    this.traces.push({ label, detail });
  }

  /** Labels and details of the events waiting, in the order they were scheduled. */
  get pending(): string[] {
    return this.queue.filter((event) => !event.cancelled).map((e) => `${e.label}@${e.detail}`);
  }

  /** Fires the first waiting event with this label (and detail, if given). */
  fire(label: string, detail?: number): void {
    const index = this.queue.findIndex(
      (event) =>
        !event.cancelled &&
        event.label === label &&
        (detail === undefined || event.detail === detail),
    );
    if (index < 0) throw new Error(`No pending event ${label}@${detail ?? '*'}`);
    const [event] = this.queue.splice(index, 1);
    this.timeTicks = Math.max(this.timeTicks, event!.timeTicks);
    event!.callback();
  }

  /** Fires every waiting event in scheduling order, including those they schedule. */
  fireAll(): number {
    let count = 0;
    for (;;) {
      const event = this.queue.shift();
      if (event === undefined) return count;
      if (event.cancelled) continue;
      this.timeTicks = Math.max(this.timeTicks, event.timeTicks);
      event.callback();
      count++;
    }
  }

  /** Forgets every waiting event, as a crash does. */
  clear(): void {
    this.queue.length = 0;
  }
}
