/**
 * The already-finished computations the logs answer non-blocking calls with
 * (the core log's `in_sync` and `is_clean` never block, reference §2.7): they
 * finish on the first step, again on every later one, and the 0/1 answers
 * are shared objects so that the mirror's write path allocates nothing.
 */
import { describe, expect, it } from 'vitest';
import { runNonBlocking } from '../../../src/concurrency/blocking.js';
import { settled, settledBit, settledVoid } from '../../../src/log/_internals/settled.js';

describe('settled computations', () => {
  it('§2.7 finish at once with their value, and say so again on every step', () => {
    const task = settled('done');
    expect(task.next()).toEqual({ done: true, value: 'done' });
    expect(task.next()).toEqual({ done: true, value: 'done' });
    expect(runNonBlocking(settled(7), 'test')).toBe(7);
    expect(runNonBlocking(settledVoid(), 'test')).toBeUndefined();
  });

  it('share one object per bit, and one for "nothing"', () => {
    expect(settledBit(0)).toBe(settledBit(0));
    expect(settledBit(1)).toBe(settledBit(1));
    expect(settledBit(0)).not.toBe(settledBit(1));
    expect(settledVoid()).toBe(settledVoid());
    expect([runNonBlocking(settledBit(0), 'test'), runNonBlocking(settledBit(1), 'test')]).toEqual([
      0, 1,
    ]);
    // A shared answer cannot be changed by one caller for the next.
    expect(Object.isFrozen(settledBit(1).next())).toBe(true);
  });

  it('return and throw end the computation as a generator would', () => {
    expect(settled(1).return(5)).toEqual({ done: true, value: 5 });
    expect(() => settled(1).throw(new Error('stop'))).toThrow('stop');
    const task = settled(2);
    expect(task[Symbol.iterator]()).toBe(task);
  });

  it('name themselves in debugging output', () => {
    expect(Object.prototype.toString.call(settled(1))).toBe('[object Settled]');
    expect(String(settledVoid())).toBe('[object Settled]');
  });
});
