import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeterministicScheduler, StepLimitError } from '../../sim/scheduler.js';
import { InvariantError } from '../../src/assert.js';
import type { ScheduledEvent } from '../../src/world/scheduler.js';

describe('DeterministicScheduler ordering', () => {
  it('runs events in time order and sets the clock to each event time', () => {
    const scheduler = new DeterministicScheduler();
    const seen: Array<[string, number]> = [];
    for (const [label, delay] of [
      ['c', 30],
      ['a', 10],
      ['d', 40],
      ['b', 20],
    ] as const) {
      scheduler.schedule(delay, label, () => seen.push([label, scheduler.now()]));
    }
    expect(scheduler.runUntilIdle()).toBe(4);
    expect(seen).toEqual([
      ['a', 10],
      ['b', 20],
      ['c', 30],
      ['d', 40],
    ]);
    expect(scheduler.now()).toBe(40);
  });

  it('runs events due at the same tick in the order they were scheduled', () => {
    const scheduler = new DeterministicScheduler();
    const seen: number[] = [];
    for (let index = 0; index < 50; index++) {
      scheduler.schedule(5, `e${index}`, () => seen.push(index));
    }
    scheduler.runUntilIdle();
    expect(seen).toEqual(Array.from({ length: 50 }, (_, index) => index));
  });

  it('runs a zero-delay event scheduled from a callback after the events already due now', () => {
    const scheduler = new DeterministicScheduler();
    const seen: string[] = [];
    scheduler.schedule(0, 'first', () => {
      seen.push('first');
      scheduler.schedule(0, 'nested', () => seen.push('nested'));
    });
    scheduler.schedule(0, 'second', () => seen.push('second'));
    scheduler.runUntilIdle();
    expect(seen).toEqual(['first', 'second', 'nested']);
    expect(scheduler.now()).toBe(0);
  });

  it('orders any mix of delays and cancellations by (time, sequence)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ delay: fc.nat(20), cancel: fc.boolean() }), { maxLength: 200 }),
        (specs) => {
          const scheduler = new DeterministicScheduler();
          const ran: number[] = [];
          const events = specs.map((spec, index) =>
            scheduler.schedule(spec.delay, 'e', () => {
              // The clock never goes back.
              expect(scheduler.now()).toBe(spec.delay);
              ran.push(index);
            }),
          );
          specs.forEach((spec, index) => {
            if (spec.cancel) scheduler.cancel(events[index]!);
          });
          const live = specs.filter((spec) => !spec.cancel).length;
          expect(scheduler.pendingCount).toBe(live);
          expect(scheduler.runUntilIdle()).toBe(live);
          const expected = specs
            .map((spec, index) => ({ ...spec, index }))
            .filter((spec) => !spec.cancel)
            .sort((left, right) => left.delay - right.delay || left.index - right.index)
            .map((spec) => spec.index);
          expect(ran).toEqual(expected);
          expect(scheduler.steps).toBe(live);
          expect(scheduler.pendingCount).toBe(0);
        },
      ),
    );
  });

  it('keeps (time, sequence) order when callbacks schedule more events while it runs', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(15), { minLength: 1, maxLength: 100 }), (delays) => {
        const scheduler = new DeterministicScheduler();
        const ran: Array<{ time: number; sequence: number }> = [];
        let sequence = 0;
        let cursor = 0;
        const scheduleNext = (): void => {
          const delay = delays[cursor++];
          if (delay === undefined) return;
          const mine = sequence++;
          const due = scheduler.now() + delay;
          scheduler.schedule(delay, 'chain', () => {
            ran.push({ time: due, sequence: mine });
            scheduleNext();
            scheduleNext();
          });
        };
        scheduleNext();
        scheduler.runUntilIdle();
        expect(ran.length).toBe(delays.length);
        for (let index = 1; index < ran.length; index++) {
          const previous = ran[index - 1]!;
          const current = ran[index]!;
          expect(
            previous.time < current.time ||
              (previous.time === current.time && previous.sequence < current.sequence),
          ).toBe(true);
        }
      }),
    );
  });
});

describe('DeterministicScheduler schedule and cancel', () => {
  it('rejects a negative or fractional delay with a RangeError naming the event', () => {
    const scheduler = new DeterministicScheduler();
    expect(() => scheduler.schedule(-1, 'leg0.write', () => {})).toThrow(RangeError);
    expect(() => scheduler.schedule(-1, 'leg0.write', () => {})).toThrow(/"leg0\.write".*-1/);
    expect(() => scheduler.schedule(1.5, 'x', () => {})).toThrow(/1\.5/);
    expect(() => scheduler.schedule(Number.NaN, 'x', () => {})).toThrow(RangeError);
    expect(scheduler.pendingCount).toBe(0);
  });

  it('bounds the queue: scheduling beyond pendingEventsMax is an invariant violation', () => {
    const scheduler = new DeterministicScheduler({ pendingEventsMax: 3 });
    for (let index = 0; index < 3; index++) scheduler.schedule(1, 'e', () => {});
    expect(() => scheduler.schedule(1, 'overflow', () => {})).toThrow(InvariantError);
    expect(() => scheduler.schedule(1, 'overflow', () => {})).toThrow(
      /full \(3 pending\).*overflow/,
    );
    // Running one event makes room again.
    scheduler.step();
    expect(() => scheduler.schedule(1, 'fits', () => {})).not.toThrow();
    expect(scheduler.pendingCount).toBe(3);
  });

  it('cancelled events never run and cancelling twice is allowed', () => {
    const scheduler = new DeterministicScheduler();
    const seen: string[] = [];
    const doomed = scheduler.schedule(1, 'doomed', () => seen.push('doomed'));
    scheduler.schedule(2, 'kept', () => seen.push('kept'));
    scheduler.cancel(doomed);
    scheduler.cancel(doomed);
    expect(scheduler.pendingCount).toBe(1);
    expect(scheduler.nextEventTime()).toBe(2);
    expect(scheduler.runUntilIdle()).toBe(1);
    expect(seen).toEqual(['kept']);
    expect(scheduler.steps).toBe(1);
  });

  it('cancelling an event that already ran changes nothing (like clearTimeout)', () => {
    const scheduler = new DeterministicScheduler();
    const ran = scheduler.schedule(1, 'ran', () => {});
    scheduler.schedule(5, 'later', () => {});
    scheduler.step();
    expect(scheduler.pendingCount).toBe(1);
    scheduler.cancel(ran);
    expect(scheduler.pendingCount).toBe(1);
    expect(scheduler.runUntilIdle()).toBe(1);
    expect(scheduler.pendingCount).toBe(0);
  });

  it('an event may cancel another event due at the same tick', () => {
    const scheduler = new DeterministicScheduler();
    const seen: string[] = [];
    let victim: ScheduledEvent | undefined;
    scheduler.schedule(3, 'killer', () => {
      seen.push('killer');
      scheduler.cancel(victim!);
    });
    victim = scheduler.schedule(3, 'victim', () => seen.push('victim'));
    scheduler.runUntilIdle();
    expect(seen).toEqual(['killer']);
    expect(scheduler.pendingCount).toBe(0);
  });

  it('refuses to cancel an event that is not its own', () => {
    const scheduler = new DeterministicScheduler();
    expect(() => scheduler.cancel({ timeTicks: 0, label: 'fake' })).toThrow(InvariantError);
  });

  it('nextEventTime skips cancelled events and is undefined when idle', () => {
    const scheduler = new DeterministicScheduler();
    expect(scheduler.nextEventTime()).toBeUndefined();
    const first = scheduler.schedule(4, 'a', () => {});
    scheduler.schedule(9, 'b', () => {});
    expect(scheduler.nextEventTime()).toBe(4);
    scheduler.cancel(first);
    expect(scheduler.nextEventTime()).toBe(9);
  });

  it('step() runs exactly one event and returns false when nothing is pending', () => {
    const scheduler = new DeterministicScheduler();
    let count = 0;
    scheduler.schedule(1, 'a', () => count++);
    scheduler.schedule(1, 'b', () => count++);
    expect(scheduler.step()).toBe(true);
    expect(count).toBe(1);
    expect(scheduler.step()).toBe(true);
    expect(scheduler.step()).toBe(false);
    expect(count).toBe(2);
    expect(scheduler.steps).toBe(2);
  });

  it('counts events in steps, not trace points or cancelled events', () => {
    const scheduler = new DeterministicScheduler();
    scheduler.trace('decision', 1);
    const cancelled = scheduler.schedule(1, 'x', () => {});
    scheduler.cancel(cancelled);
    scheduler.schedule(1, 'y', () => scheduler.trace('inner'));
    scheduler.runUntilIdle();
    expect(scheduler.steps).toBe(1);
    // One event plus two trace points were recorded.
    expect(scheduler.traceLog.recordCount).toBe(3);
  });
});

describe('DeterministicScheduler run loops', () => {
  it('runUntilIdle throws StepLimitError on an endless chain and allows exactly stepsMax events', () => {
    const endless = new DeterministicScheduler();
    const tick = (): void => {
      endless.schedule(1, 'tick', tick);
    };
    tick();
    expect(() => endless.runUntilIdle({ stepsMax: 100 })).toThrow(StepLimitError);
    expect(endless.steps).toBe(100);

    const finite = new DeterministicScheduler();
    for (let index = 0; index < 10; index++) finite.schedule(index, 'e', () => {});
    expect(finite.runUntilIdle({ stepsMax: 10 })).toBe(10);
  });

  it('run() is runUntilIdle()', () => {
    const scheduler = new DeterministicScheduler();
    scheduler.schedule(3, 'a', () => {});
    scheduler.schedule(7, 'b', () => {});
    expect(scheduler.run()).toBe(2);
    expect(scheduler.now()).toBe(7);
  });

  it('runUntil checks the predicate before each event and stops as soon as it holds', () => {
    const scheduler = new DeterministicScheduler();
    let count = 0;
    for (let index = 1; index <= 10; index++) scheduler.schedule(index, 'e', () => count++);
    expect(scheduler.runUntil(() => true)).toBe(true);
    expect(count).toBe(0);
    expect(scheduler.runUntil(() => count === 4)).toBe(true);
    expect(count).toBe(4);
    expect(scheduler.now()).toBe(4);
    expect(scheduler.pendingCount).toBe(6);
  });

  it('runUntil returns false when the queue empties first', () => {
    const scheduler = new DeterministicScheduler();
    let count = 0;
    scheduler.schedule(1, 'e', () => count++);
    expect(scheduler.runUntil(() => count > 5)).toBe(false);
    expect(scheduler.pendingCount).toBe(0);
  });

  it('runUntil succeeds when the last allowed event makes the predicate true', () => {
    const scheduler = new DeterministicScheduler();
    let done = false;
    scheduler.schedule(1, 'a', () => {});
    scheduler.schedule(2, 'b', () => {
      done = true;
    });
    scheduler.schedule(3, 'c', () => {});
    expect(scheduler.runUntil(() => done, { stepsMax: 2 })).toBe(true);
    expect(scheduler.steps).toBe(2);
  });

  it('runUntil throws StepLimitError when the predicate needs more than stepsMax events', () => {
    const scheduler = new DeterministicScheduler();
    const tick = (): void => {
      scheduler.schedule(1, 'tick', tick);
    };
    tick();
    expect(() => scheduler.runUntil(() => false, { stepsMax: 50 })).toThrow(StepLimitError);
    expect(scheduler.steps).toBe(50);
  });

  it('runUntilTime runs what is due at or before the time, then sets the clock to it', () => {
    const scheduler = new DeterministicScheduler();
    const seen: number[] = [];
    for (const delay of [5, 10, 11, 20]) scheduler.schedule(delay, 'e', () => seen.push(delay));
    expect(scheduler.runUntilTime(10)).toBe(2);
    expect(seen).toEqual([5, 10]);
    expect(scheduler.now()).toBe(10);
    expect(scheduler.runUntilTime(15)).toBe(1);
    expect(scheduler.now()).toBe(15);
    expect(() => scheduler.runUntilTime(14)).toThrow(RangeError);
    expect(() => scheduler.runUntilTime(15.5)).toThrow(RangeError);
    // Events scheduled after advancing count from the new time.
    scheduler.schedule(1, 'late', () => seen.push(16));
    expect(scheduler.nextEventTime()).toBe(16);
  });

  it('runUntilTime with stepsMax succeeds when exactly stepsMax events are due', () => {
    const scheduler = new DeterministicScheduler();
    for (const delay of [1, 2, 3, 100]) scheduler.schedule(delay, 'e', () => {});
    expect(scheduler.runUntilTime(50, { stepsMax: 3 })).toBe(3);
    expect(scheduler.now()).toBe(50);
    const busy = new DeterministicScheduler();
    const tick = (): void => {
      busy.schedule(0, 'spin', tick);
    };
    tick();
    expect(() => busy.runUntilTime(1, { stepsMax: 20 })).toThrow(StepLimitError);
  });

  it('runFor advances the clock by a number of ticks', () => {
    const scheduler = new DeterministicScheduler();
    let ran = 0;
    scheduler.schedule(25, 'e', () => ran++);
    scheduler.runFor(10);
    expect(scheduler.now()).toBe(10);
    expect(ran).toBe(0);
    scheduler.runFor(15);
    expect(ran).toBe(1);
    expect(scheduler.now()).toBe(25);
  });

  it('clear() drops every pending event, as a crash does, and records it in the trace', () => {
    const scheduler = new DeterministicScheduler();
    let ran = 0;
    for (let index = 0; index < 5; index++) scheduler.schedule(index, 'e', () => ran++);
    scheduler.step();
    const before = scheduler.traceHash();
    expect(scheduler.clear()).toBe(4);
    expect(scheduler.pendingCount).toBe(0);
    expect(scheduler.runUntilIdle()).toBe(0);
    expect(ran).toBe(1);
    expect(scheduler.traceHash()).not.toBe(before);
    // The scheduler keeps working after a clear.
    scheduler.schedule(1, 'after', () => ran++);
    scheduler.runUntilIdle();
    expect(ran).toBe(2);
  });

  it('an exception in an event propagates and leaves the scheduler usable', () => {
    const scheduler = new DeterministicScheduler();
    scheduler.schedule(1, 'boom', () => {
      throw new Error('boom');
    });
    let ran = false;
    scheduler.schedule(2, 'after', () => {
      ran = true;
    });
    expect(() => scheduler.runUntilIdle()).toThrow('boom');
    expect(scheduler.runUntilIdle()).toBe(1);
    expect(ran).toBe(true);
  });
});

describe('DeterministicScheduler trace', () => {
  it('hashes every event and trace point so that the same run gives the same hash', () => {
    const run = (variant: number): string => {
      const scheduler = new DeterministicScheduler();
      scheduler.schedule(3, 'a', () => scheduler.trace('decided', variant));
      scheduler.schedule(5, 'b', () => {}, 7);
      scheduler.runUntilIdle();
      return scheduler.traceHash();
    };
    expect(run(1)).toBe(run(1));
    expect(run(1)).not.toBe(run(2));
    expect(run(1)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('keeps recent records when asked to', () => {
    const scheduler = new DeterministicScheduler({ traceRecentCapacity: 2 });
    scheduler.schedule(1, 'a', () => {});
    scheduler.schedule(2, 'b', () => {}, 9);
    scheduler.runUntilIdle();
    scheduler.trace('c', 3);
    expect(scheduler.traceLog.recent()).toEqual([
      { timeTicks: 2, label: 'b', detail: 9, isEvent: true },
      { timeTicks: 2, label: 'c', detail: 3, isEvent: false },
    ]);
  });
});
