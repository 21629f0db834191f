/**
 * Kernel code that "may block" (a log flush doing synchronous I/O, kmirrord
 * waiting on its log) is written here as generator functions that yield
 * effects. An effect starts an operation and calls `resume` when it is done,
 * normally from a scheduler event. {@link spawn} drives such a task; the
 * code inside reads top to bottom like the kernel function it models:
 *
 * ```ts
 * function* diskFlush(): Blocking<number> {
 *   const error = yield* waitFor<BlockIoError | null>((resume) => device.write(request, resume));
 *   return error === null ? 0 : -EIO;
 * }
 * ```
 */
import { assert } from '../assert.js';

/** Starts an operation; calls `resume` exactly once with its result. */
export type Effect = (resume: (value: unknown) => void) => void;

/** A computation that may block; its result is `T`. */
export type Blocking<T> = Generator<Effect, T, unknown>;

/** Waits for one callback-style operation and returns what it resumed with. */
export function* waitFor<T>(start: (resume: (value: T) => void) => void): Blocking<T> {
  return (yield start as Effect) as T;
}

/** A blocking computation that does not block: returns `value`. */
// biome-ignore lint/correctness/useYield: an already-available result is a Blocking that never yields.
export function* immediate<T>(value: T): Blocking<T> {
  return value;
}

/**
 * Runs `task`, resuming it each time an effect completes, and calls `onDone`
 * with its result. Effects that complete synchronously continue the task in
 * a loop, not by recursion. An exception in the task propagates to whoever
 * resumed it (the scheduler), so broken invariants surface.
 */
export function spawn<T>(task: Blocking<T>, onDone: (value: T) => void): void {
  const advance = (input: unknown): void => {
    let next: unknown = input;
    for (;;) {
      const step = task.next(next);
      if (step.done === true) {
        onDone(step.value);
        return;
      }
      let starting = true;
      let resumedEarly = false;
      let resumed = false;
      let earlyValue: unknown;
      step.value((value) => {
        assert(!resumed, 'a blocking effect resumed twice');
        resumed = true;
        if (starting) {
          resumedEarly = true;
          earlyValue = value;
        } else {
          advance(value);
        }
      });
      starting = false;
      if (!resumedEarly) return;
      next = earlyValue;
    }
  };
  advance(undefined);
}

/**
 * Runs a computation that must not block (the kernel's `can_block = 0`
 * paths) and returns its result. Blocking anyway is an invariant violation.
 */
export function runNonBlocking<T>(task: Blocking<T>, what: string): T {
  let finished = false;
  let result: T | undefined;
  spawn(task, (value) => {
    finished = true;
    result = value;
  });
  assert(finished, `${what} blocked where blocking is not allowed`);
  return result as T;
}
