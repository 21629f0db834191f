/**
 * How a crash-consistency scenario fails: the first violation the budget
 * does not explain, thrown as a {@link FuzzFailure} so fast-check records
 * the counterexample and shrinks it. Violations a beyond-budget fault
 * explains are not thrown; they are kept as {@link ExpectedOutcome}s, each
 * naming the documented Linux behaviour that explains it.
 */
import type { ViolationKind } from './fault-budget.js';

/** A property a run broke: which one, what happened, and when. */
export interface Violation {
  readonly kind: ViolationKind;
  readonly message: string;
  /** Simulation events run when it was found. */
  readonly step: number;
}

/** A violation a beyond-budget fault (or a table mode) explains. */
export interface ExpectedOutcome {
  readonly kind: ViolationKind;
  readonly message: string;
  /** The reference fact that explains it. */
  readonly fact: string;
}

/** A violation no beyond-budget fault explains: the run fails with it. */
export class FuzzFailure extends Error {
  override name = 'FuzzFailure';

  constructor(readonly violation: Violation) {
    super(`${violation.kind}: ${violation.message} (at event ${violation.step})`);
  }
}

/** Whether an error thrown by a command run is a finding (a violation or a broken assertion). */
export function isFinding(error: unknown): boolean {
  return error instanceof FuzzFailure || (error as Error)?.name === 'InvariantError';
}
