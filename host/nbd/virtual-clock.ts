/**
 * The `virtual` clock (see simulation-clock.ts): when requests arrive it
 * runs the world until nothing is pending — the requests complete, and the
 * mirror's own follow-up work (log clears, resync) runs on — in slices of
 * {@link VIRTUAL_SLICE_EVENTS} events, handing control back to the event
 * loop between slices so sockets are served during a long resync.
 * Simulated time advances only by the events' own delays.
 */

import type { DeterministicScheduler } from '../../sim/scheduler.js';
import { assert } from '../../src/assert.js';
import type { ClockBreak, SimulationClock } from './simulation-clock.js';

/** Events one slice runs before the event loop gets a turn. */
export const VIRTUAL_SLICE_EVENTS = 20_000;

/** Simulated time that advances as fast as requests come (see the file comment). */
export class VirtualClock implements SimulationClock {
  readonly kind = 'virtual';
  private pending: NodeJS.Immediate | null = null;
  private stopped = false;
  private pendingBreak: ClockBreak | null = null;

  constructor(private readonly scheduler: DeterministicScheduler) {}

  beforeSubmit(): void {}

  kick(): void {
    if (this.pending !== null || this.stopped) return;
    // After the current I/O callbacks: requests that arrived together start together.
    this.pending = setImmediate(() => this.runSlice());
  }

  resync(): void {}

  breakBefore(predicate: () => boolean, onBreak: () => void): void {
    this.pendingBreak = { predicate, onBreak };
  }

  cancelBreak(): void {
    this.pendingBreak = null;
  }

  stop(): void {
    this.stopped = true;
    if (this.pending !== null) clearImmediate(this.pending);
    this.pending = null;
  }

  private runSlice(): void {
    this.pending = null;
    let events = 0;
    while (events < VIRTUAL_SLICE_EVENTS) {
      const pendingBreak = this.pendingBreak;
      if (pendingBreak?.predicate()) {
        this.pendingBreak = null;
        pendingBreak.onBreak();
        return;
      }
      if (!this.scheduler.step()) break;
      events++;
    }
    assert(events <= VIRTUAL_SLICE_EVENTS, 'a slice ran more events than allowed');
    if (this.scheduler.pendingCount > 0) this.kick();
  }
}
