/**
 * The `real` clock (see simulation-clock.ts): simulated time follows the
 * wall clock (one tick, one microsecond). An event runs once its time has
 * passed on the wall; a request enters the world at the wall's "now", so
 * its completion, and the reply, is held until its simulated latency has
 * passed. Node timers have millisecond granularity, so the last
 * millisecond before an event is waited out by re-checking on every turn
 * of the event loop, which keeps sub-millisecond latencies honest.
 *
 * When the world is run eagerly (a control action runs a suspend or a
 * power cut to completion), simulated time gets ahead of the wall; the
 * clock then re-anchors, so time never runs backwards.
 */
import { performance } from 'node:perf_hooks';
import type { DeterministicScheduler } from '../../sim/scheduler.js';
import type { ClockBreak, SimulationClock } from './simulation-clock.js';

/** Below this many milliseconds to the next event, poll the event loop instead of a timer. */
const TIMER_GRANULARITY_MS = 1;

/** Simulated time that follows the wall clock (see the file comment). */
export class RealClock implements SimulationClock {
  readonly kind = 'real';
  private originWallMs = performance.now();
  private originTicks: number;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private stopped = false;
  private pendingBreak: ClockBreak | null = null;

  constructor(private readonly scheduler: DeterministicScheduler) {
    this.originTicks = scheduler.now();
  }

  beforeSubmit(): void {
    // Never break here: a request is being submitted, and a power cut must not land inside that.
    this.advance(false);
  }

  kick(): void {
    if (this.stopped) return;
    this.advance(true);
    this.arm();
  }

  resync(): void {
    this.originWallMs = performance.now();
    this.originTicks = this.scheduler.now();
  }

  breakBefore(predicate: () => boolean, onBreak: () => void): void {
    this.pendingBreak = { predicate, onBreak };
  }

  cancelBreak(): void {
    this.pendingBreak = null;
  }

  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  /** Simulated time the wall clock says it is now. */
  private wallTicks(): number {
    return this.originTicks + Math.floor((performance.now() - this.originWallMs) * 1000);
  }

  /**
   * Runs every event whose time has passed on the wall, and moves simulated
   * time to the wall; with `allowBreak`, stops at a break that holds.
   */
  private advance(allowBreak: boolean): void {
    let target = this.wallTicks();
    if (target < this.scheduler.now()) {
      this.resync();
      target = this.scheduler.now();
    }
    for (;;) {
      const next = this.scheduler.nextEventTime();
      if (next === undefined || next > target) break;
      const pendingBreak = this.pendingBreak;
      if (allowBreak && pendingBreak?.predicate()) {
        this.pendingBreak = null;
        pendingBreak.onBreak();
        return;
      }
      this.scheduler.step();
    }
    this.scheduler.runUntilTime(target);
  }

  /** Wakes up when the next event is due. */
  private arm(): void {
    this.disarm();
    const next = this.scheduler.nextEventTime();
    if (next === undefined || this.stopped) return;
    const waitMs = (next - this.wallTicks()) / 1000;
    const wake = () => {
      this.timer = null;
      this.immediate = null;
      this.kick();
    };
    if (waitMs <= TIMER_GRANULARITY_MS) this.immediate = setImmediate(wake);
    else this.timer = setTimeout(wake, waitMs - TIMER_GRANULARITY_MS);
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
  }
}
