/**
 * A kernel `delayed_work` on its own workqueue, for the userspace log's
 * deferred flush (`flush_log_work` on `dmlogd`, reference
 * userspace-and-cluster-logs.md §2.3): queued to run a blocking function
 * after a delay, cancellable while its timer is pending, and flushable
 * (`flush_delayed_work`: run a pending one at once and wait for it).
 */
import { assert } from '../../../assert.js';
import { type Blocking, spawn } from '../../../concurrency/blocking.js';
import { WaitQueue } from '../../../concurrency/wait-queue.js';
import type { ScheduledEvent, Scheduler } from '../../../world/scheduler.js';

/** One delayed work item. */
export class DelayedWork {
  private timer: ScheduledEvent | null = null;
  private running = false;
  /** The timer fired while a run was in progress: run again when it ends (a work never overlaps itself). */
  private runAgain = false;
  private readonly done = new WaitQueue();

  constructor(
    private readonly scheduler: Scheduler,
    private readonly label: string,
    private readonly work: () => Blocking<void>,
  ) {}

  /** The timer is armed and the work has not started. */
  get pending(): boolean {
    return this.timer !== null;
  }

  /** The work is executing now. */
  get isRunning(): boolean {
    return this.running;
  }

  /**
   * `queue_delayed_work`: arms the timer unless it is already armed (then
   * nothing changes, as in Linux). Returns whether it armed it.
   */
  queue(delayTicks: number): boolean {
    if (this.timer !== null) return false;
    this.timer = this.scheduler.schedule(delayTicks, this.label, () => {
      this.timer = null;
      if (this.running) this.runAgain = true;
      else this.start();
    });
    return true;
  }

  /** `cancel_delayed_work`: disarms a pending timer; a running work is left to finish. */
  cancel(): boolean {
    if (this.timer === null) return false;
    this.scheduler.cancel(this.timer);
    this.timer = null;
    return true;
  }

  /**
   * `flush_delayed_work`: a pending work runs now; then waits until no run
   * of it is in progress.
   */
  *flush(): Blocking<void> {
    if (this.cancel()) {
      if (this.running) this.runAgain = true;
      else this.start();
    }
    yield* this.done.waitUntil(() => !this.running && !this.runAgain);
  }

  private start(): void {
    assert(!this.running, `${this.label} started while already running`);
    this.running = true;
    spawn(this.work(), () => {
      assert(this.running, `${this.label} finished without running`);
      this.running = false;
      if (this.runAgain) {
        this.runAgain = false;
        this.start();
        return;
      }
      this.done.wakeAll();
    });
  }
}
