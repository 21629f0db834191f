/**
 * A wait queue for blocking tasks, as the kernel's `wait_event` /
 * `wake_up_all`: a task waits until a condition holds, re-checked each time
 * the queue is woken.
 */
import { type Blocking, waitFor } from './blocking.js';

export class WaitQueue {
  private waiters: Array<() => void> = [];

  /** Waits until `condition()` is true, checking it now and after each wake-up. */
  *waitUntil(condition: () => boolean): Blocking<void> {
    while (!condition()) {
      yield* waitFor<void>((resume) => this.waiters.push(() => resume(undefined)));
    }
  }

  /** Wakes every waiter so each re-checks its condition. */
  wakeAll(): void {
    const woken = this.waiters;
    this.waiters = [];
    for (const waiter of woken) waiter();
  }

  get waiterCount(): number {
    return this.waiters.length;
  }
}
