/**
 * Already-finished {@link Blocking} computations that cost no allocation:
 * the log methods that never block in the kernel (`in_sync`, `is_clean`)
 * sit on the mirror's hot write path, but the dirty-log interface types
 * them as `Blocking<T>`. A finished computation has no state, so one
 * object per value serves every caller, any number of times.
 */
import type { Blocking, Effect } from '../../concurrency/blocking.js';

/** A computation that has already returned `value`; every `next()` says so again. */
class Settled<T> implements Generator<Effect, T, unknown> {
  private readonly result: IteratorReturnResult<T>;

  constructor(value: T) {
    this.result = Object.freeze({ done: true as const, value });
  }

  next(): IteratorResult<Effect, T> {
    return this.result;
  }

  return(value: T): IteratorResult<Effect, T> {
    return { done: true, value };
  }

  throw(error: unknown): IteratorResult<Effect, T> {
    throw error;
  }

  [Symbol.iterator](): Generator<Effect, T, unknown> {
    return this;
  }

  get [Symbol.toStringTag](): string {
    return 'Settled';
  }
}

const ZERO = new Settled(0);
const ONE = new Settled(1);
const NOTHING = new Settled<void>(undefined);

/** The finished computation returning 0 or 1, shared (for `in_sync`, `is_clean`). */
export function settledBit(bit: number): Blocking<number> {
  return bit === 0 ? ZERO : ONE;
}

/** The finished computation returning nothing, shared. */
export function settledVoid(): Blocking<void> {
  return NOTHING;
}

/** A finished computation returning `value` (one small object). */
export function settled<T>(value: T): Blocking<T> {
  return new Settled(value);
}
