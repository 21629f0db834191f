/**
 * Invariant checks that stay on in production, as TigerBeetle keeps them:
 * a broken invariant is a bug to surface, never to swallow.
 */

/** Thrown when an internal invariant does not hold: always a bug in mirrorsim or its caller. */
export class InvariantError extends Error {
  override name = 'InvariantError';
}

/**
 * Throws an {@link InvariantError} when `condition` is false.
 *
 * @example
 * ```ts
 * assert(pendingCount >= 0, 'pending count went negative');
 * ```
 */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

/** Marks a branch that the type system proves unreachable. */
export function unreachable(value: never, what: string): never {
  throw new InvariantError(`Unreachable: unexpected ${what} ${JSON.stringify(value)}`);
}
