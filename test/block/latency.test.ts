import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../sim/random.js';
import { DeterministicScheduler } from '../../sim/scheduler.js';
import {
  checkLatency,
  drawLatencyTicks,
  fixedLatency,
  type LatencyModel,
  ZERO_LATENCY,
} from '../../src/block/latency.js';
import { SimulatedDevice } from '../../src/block/simulated-device.js';
import { drawExponentialTicks } from '../../src/world/random-stream.js';

function draws(model: LatencyModel, seed: number, count: number): number[] {
  const stream = new SeededRandom(seed).stream('leg0.latency');
  return Array.from({ length: count }, () => drawLatencyTicks(model, stream));
}

describe('latency models', () => {
  it('a fixed latency is always its ticks and draws nothing', () => {
    const random = new SeededRandom(1);
    const stream = random.stream('s');
    expect(drawLatencyTicks(fixedLatency(250), stream)).toBe(250);
    expect(drawLatencyTicks(ZERO_LATENCY, stream)).toBe(0);
    expect(stream.nextUint32()).toBe(random.freshStream('s').nextUint32());
  });

  it('an exponential latency is an integer at least the minimum, deterministic per seed', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.nat(1000),
        fc.double({ min: 0, max: 5000, noNaN: true }),
        (seed, minimumTicks, meanTicks) => {
          const model: LatencyModel = { kind: 'exponential', minimumTicks, meanTicks };
          const first = draws(model, seed, 50);
          for (const ticks of first) {
            expect(Number.isSafeInteger(ticks)).toBe(true);
            expect(ticks).toBeGreaterThanOrEqual(minimumTicks);
          }
          expect(draws(model, seed, 50)).toEqual(first);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('an exponential latency has about the given mean and a long tail (max(min, exp(mean)))', () => {
    const samples = draws({ kind: 'exponential', minimumTicks: 0, meanTicks: 1000 }, 21, 20_000);
    const mean = samples.reduce((sum, ticks) => sum + ticks, 0) / samples.length;
    // Flooring lowers the mean by about half a tick; the standard error is about 7 ticks.
    expect(Math.abs(mean - 999.5)).toBeLessThan(40);
    expect(Math.max(...samples)).toBeGreaterThan(5000);
    // A minimum above most draws clamps them: about 1 - e^-1 of draws fall below 1000.
    const clamped = draws({ kind: 'exponential', minimumTicks: 1000, meanTicks: 1000 }, 21, 5000);
    const atMinimum = clamped.filter((ticks) => ticks === 1000).length / clamped.length;
    expect(Math.abs(atMinimum - (1 - Math.exp(-1)))).toBeLessThan(0.03);
  });

  it('a zero mean gives exactly the minimum', () => {
    expect(draws({ kind: 'exponential', minimumTicks: 7, meanTicks: 0 }, 3, 20)).toEqual(
      Array(20).fill(7),
    );
    const zero = drawExponentialTicks(new SeededRandom(1).stream('z'), {
      minimumTicks: 0,
      meanTicks: 0,
    });
    expect(Object.is(zero, 0)).toBe(true);
  });

  it('different seeds give different latency sequences', () => {
    const model: LatencyModel = { kind: 'exponential', minimumTicks: 1, meanTicks: 100 };
    expect(draws(model, 1, 20)).not.toEqual(draws(model, 2, 20));
  });

  it('rejects bad models with a RangeError naming the device, operation and value', () => {
    expect(() => checkLatency('leg0', 'write', fixedLatency(-1))).toThrow(
      'Device "leg0" write latency ticks -1 is not an integer ≥ 0 ticks',
    );
    expect(() => checkLatency('leg0', 'read', fixedLatency(1.5))).toThrow(RangeError);
    expect(() =>
      checkLatency('leg0', 'flush', { kind: 'exponential', minimumTicks: -3, meanTicks: 1 }),
    ).toThrow(/flush latency minimum -3/);
    expect(() =>
      checkLatency('leg0', 'flush', { kind: 'exponential', minimumTicks: 0, meanTicks: -1 }),
    ).toThrow(/mean -1/);
    expect(() =>
      checkLatency('leg0', 'flush', {
        kind: 'exponential',
        minimumTicks: 0,
        meanTicks: Number.POSITIVE_INFINITY,
      }),
    ).toThrow(RangeError);
    expect(() =>
      checkLatency('leg0', 'read', { kind: 'exponential', minimumTicks: 0, meanTicks: 2.5 }),
    ).not.toThrow();
  });
});

describe('latency on a device (dm-delay: one delay per class)', () => {
  it('completes reads, writes and flushes after their own fixed delays', () => {
    const scheduler = new DeterministicScheduler();
    const leg = new SimulatedDevice({
      name: 'leg0',
      sizeSectors: 64,
      scheduler,
      random: new SeededRandom(1),
      latency: { read: fixedLatency(50), write: fixedLatency(100), flush: fixedLatency(333) },
    });
    const done: Array<[string, number]> = [];
    leg.flush(() => done.push(['flush', scheduler.now()]));
    leg.write({ sector: 0, data: new Uint8Array(512) }, () =>
      done.push(['write', scheduler.now()]),
    );
    leg.discard({ sector: 0, sectorCount: 1 }, () => done.push(['discard', scheduler.now()]));
    leg.read({ sector: 0, sectorCount: 1 }, () => done.push(['read', scheduler.now()]));
    scheduler.runUntilIdle();
    expect(done).toEqual([
      ['read', 50],
      ['write', 100],
      ['discard', 100],
      ['flush', 333],
    ]);
  });

  it('rejects a bad latency at construction', () => {
    expect(
      () =>
        new SimulatedDevice({
          name: 'slow',
          sizeSectors: 64,
          scheduler: new DeterministicScheduler(),
          random: new SeededRandom(1),
          latency: { write: fixedLatency(-5) },
        }),
    ).toThrow(/"slow" write latency ticks -5/);
  });

  it('draws latency from the device stream only, so another device does not shift it', () => {
    const completionTimes = (withNeighbour: boolean): number[] => {
      const scheduler = new DeterministicScheduler();
      const random = new SeededRandom(99);
      const latency = { write: { kind: 'exponential', minimumTicks: 1, meanTicks: 100 } } as const;
      const leg = new SimulatedDevice({
        name: 'leg0',
        sizeSectors: 64,
        scheduler,
        random,
        latency,
      });
      const neighbour = new SimulatedDevice({
        name: 'leg1',
        sizeSectors: 64,
        scheduler,
        random,
        latency,
      });
      const times: number[] = [];
      for (let index = 0; index < 20; index++) {
        if (withNeighbour) neighbour.write({ sector: index, data: new Uint8Array(512) }, () => {});
        leg.write({ sector: index, data: new Uint8Array(512) }, () => times.push(scheduler.now()));
      }
      scheduler.runUntilIdle();
      return times;
    };
    expect(completionTimes(true)).toEqual(completionTimes(false));
  });
});
