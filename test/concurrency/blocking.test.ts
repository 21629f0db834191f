import { describe, expect, it } from 'vitest';
import { DeterministicScheduler } from '../../sim/scheduler.js';
import { InvariantError } from '../../src/assert.js';
import {
  type Blocking,
  type Effect,
  immediate,
  runNonBlocking,
  spawn,
  waitFor,
} from '../../src/concurrency/blocking.js';

/** An effect that completes at once, inside the call that starts it. */
function* now<T>(value: T): Blocking<T> {
  return yield* waitFor<T>((resume) => resume(value));
}

/** An effect that completes `delayTicks` later, as a scheduler event. */
function* later<T>(scheduler: DeterministicScheduler, delayTicks: number, value: T): Blocking<T> {
  return yield* waitFor<T>((resume) => {
    scheduler.schedule(delayTicks, 'effect', () => resume(value));
  });
}

describe('spawn', () => {
  it('runs a task whose effects complete synchronously to the end at once', () => {
    function* task(): Blocking<number> {
      const first = yield* now(2);
      const second = yield* now(3);
      return first * second;
    }
    let result: number | undefined;
    spawn(task(), (value) => {
      result = value;
    });
    expect(result).toBe(6);
  });

  it('suspends at an asynchronous effect and resumes when it completes', () => {
    const scheduler = new DeterministicScheduler();
    const seen: string[] = [];
    function* task(): Blocking<string> {
      seen.push('start');
      const value = yield* later(scheduler, 10, 'a');
      seen.push(`got ${value} at ${scheduler.now()}`);
      const next = yield* later(scheduler, 5, 'b');
      seen.push(`got ${next} at ${scheduler.now()}`);
      return value + next;
    }
    let result: string | undefined;
    spawn(task(), (value) => {
      result = value;
    });
    expect(seen).toEqual(['start']);
    expect(result).toBeUndefined();
    scheduler.runUntilIdle();
    expect(seen).toEqual(['start', 'got a at 10', 'got b at 15']);
    expect(result).toBe('ab');
  });

  it('mixes synchronous and asynchronous effects and nested blocking calls', () => {
    const scheduler = new DeterministicScheduler();
    function* inner(base: number): Blocking<number> {
      const doubled = yield* now(base * 2);
      return yield* later(scheduler, 1, doubled + 1);
    }
    function* outer(): Blocking<number[]> {
      const results: number[] = [];
      for (let index = 0; index < 5; index++) {
        results.push(yield* inner(index));
        results.push(yield* immediate(-index));
      }
      return results;
    }
    let result: number[] | undefined;
    spawn(outer(), (value) => {
      result = value;
    });
    scheduler.runUntilIdle();
    expect(result).toEqual([1, -0, 3, -1, 5, -2, 7, -3, 9, -4]);
    expect(scheduler.now()).toBe(5);
  });

  it('runs 100,000 synchronous effects in a loop, without deep recursion', () => {
    function* task(): Blocking<number> {
      let sum = 0;
      for (let index = 0; index < 100_000; index++) sum += yield* now(1);
      return sum;
    }
    let result: number | undefined;
    spawn(task(), (value) => {
      result = value;
    });
    expect(result).toBe(100_000);
  });

  it('runs many asynchronous effects in sequence through the scheduler', () => {
    const scheduler = new DeterministicScheduler();
    function* task(): Blocking<number> {
      let sum = 0;
      for (let index = 0; index < 10_000; index++) sum += yield* later(scheduler, 0, 1);
      return sum;
    }
    let result: number | undefined;
    spawn(task(), (value) => {
      result = value;
    });
    scheduler.runUntilIdle();
    expect(result).toBe(10_000);
  });

  it('asserts when an effect resumes twice, synchronously or later', () => {
    function* twiceNow(): Blocking<void> {
      yield ((resume) => {
        resume(1);
        resume(2);
      }) as Effect;
    }
    expect(() => spawn(twiceNow(), () => {})).toThrow(InvariantError);
    expect(() => spawn(twiceNow(), () => {})).toThrow('a blocking effect resumed twice');

    let saved: ((value: unknown) => void) | undefined;
    function* twiceLater(): Blocking<void> {
      yield ((resume) => {
        saved = resume;
      }) as Effect;
      yield ((_resume) => {}) as Effect;
    }
    spawn(twiceLater(), () => {});
    saved!(1);
    expect(() => saved!(2)).toThrow(InvariantError);
  });

  it('propagates an exception thrown before the first effect to the caller of spawn', () => {
    // biome-ignore lint/correctness/useYield: the task fails before it could block.
    function* failing(): Blocking<void> {
      throw new Error('broken invariant');
    }
    expect(() => spawn(failing(), () => {})).toThrow('broken invariant');
  });

  it('propagates an exception thrown after an asynchronous effect to whoever resumed it', () => {
    const scheduler = new DeterministicScheduler();
    function* failing(): Blocking<void> {
      yield* later(scheduler, 3, 0);
      throw new RangeError('bad region 7');
    }
    let done = false;
    spawn(failing(), () => {
      done = true;
    });
    expect(() => scheduler.runUntilIdle()).toThrow('bad region 7');
    expect(done).toBe(false);
  });

  it('propagates an exception thrown by the effect itself', () => {
    function* task(): Blocking<void> {
      yield* waitFor(() => {
        throw new Error('could not start');
      });
    }
    expect(() => spawn(task(), () => {})).toThrow('could not start');
  });
});

describe('runNonBlocking', () => {
  it('returns the result of a task that never blocks', () => {
    function* task(): Blocking<string> {
      const value = yield* now('in sync');
      return `${value}!`;
    }
    expect(runNonBlocking(task(), 'in_sync(can_block=0)')).toBe('in sync!');
    expect(runNonBlocking(immediate(42), 'immediate')).toBe(42);
  });

  it('asserts, naming the caller, when the task blocks', () => {
    const scheduler = new DeterministicScheduler();
    function* task(): Blocking<number> {
      return yield* later(scheduler, 1, 5);
    }
    expect(() => runNonBlocking(task(), 'in_sync(can_block=0)')).toThrow(InvariantError);
    expect(() => runNonBlocking(task(), 'in_sync(can_block=0)')).toThrow(
      'in_sync(can_block=0) blocked where blocking is not allowed',
    );
  });

  it('propagates exceptions from the task', () => {
    // biome-ignore lint/correctness/useYield: the task fails before it could block.
    function* task(): Blocking<number> {
      throw new TypeError('wrong shape');
    }
    expect(() => runNonBlocking(task(), 'x')).toThrow(TypeError);
  });
});
