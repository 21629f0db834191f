/**
 * How the simulated world behind `mirrorsim serve` keeps time while real
 * clients drive it (`--clock virtual|real`). Both run the world's one
 * DeterministicScheduler; they differ in when its events run.
 *
 * - {@link VirtualClock}: as fast as requests come. Each time requests
 *   arrive the simulation runs until nothing is pending, so simulated time
 *   advances by the devices' latencies and no faster; for a given sequence
 *   of requests (and of the batches they arrived in) the run is
 *   deterministic.
 * - {@link RealClock}: each event runs once its simulated time has passed
 *   in wall time, so a client sees the latencies the modelled hardware has.
 */
import type { DeterministicScheduler } from '../../sim/scheduler.js';
import { RealClock } from './real-clock.js';
import { VirtualClock } from './virtual-clock.js';

/** The two clocks `--clock` names. */
export const CLOCK_KINDS = ['virtual', 'real'] as const;
/** `virtual` or `real`. */
export type ClockKind = (typeof CLOCK_KINDS)[number];

/** Drives the world's scheduler for the server (see the file comment). */
export interface SimulationClock {
  readonly kind: ClockKind;
  /** Called just before a request enters the world: the real clock first catches up with the wall. */
  beforeSubmit(): void;
  /** Requests were submitted or the world changed: run what is due, soon. */
  kick(): void;
  /** The world was run eagerly (a power cut, a control action): re-anchor simulated time. */
  resync(): void;
  /**
   * Before each event it runs from now on, the clock asks `predicate`; the
   * first time it holds, the clock stops running events and calls `onBreak`
   * (outside any event), once. A power cut lands between two events this
   * way. One break at a time; a new one replaces the old.
   */
  breakBefore(predicate: () => boolean, onBreak: () => void): void;
  /** Removes the break, if one is set. */
  cancelBreak(): void;
  /** Stops every timer; nothing runs afterwards. */
  stop(): void;
}

/** A break set with {@link SimulationClock.breakBefore}. */
export interface ClockBreak {
  readonly predicate: () => boolean;
  readonly onBreak: () => void;
}

/** The clock `kind` over `scheduler`. */
export function createSimulationClock(
  kind: ClockKind,
  scheduler: DeterministicScheduler,
): SimulationClock {
  return kind === 'virtual' ? new VirtualClock(scheduler) : new RealClock(scheduler);
}
