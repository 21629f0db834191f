/**
 * The benchmark's cases (sim/scenario/bench-scenario.ts): simulated figures
 * are deterministic for a seed, mean what their definitions say, and the
 * raw-copy baseline copies exactly the writes the mirror received.
 */
import { describe, expect, it } from 'vitest';
import { SECTOR_SIZE_BYTES } from '../../src/block/sector.js';
import type { SimulatedDevice } from '../../src/block/simulated-device.js';
import '../../src/log/builtin-logs.js';
import {
  BENCH_DEFAULTS,
  type BenchCaseOptions,
  copyRaw,
  latencySummary,
  runBenchCrash,
  runBenchPerformance,
} from '../../sim/scenario/bench-scenario.js';
import { runScenario } from '../../sim/scenario/run-scenario.js';

function benchCase(overrides: Partial<BenchCaseOptions> = {}): BenchCaseOptions {
  return { ...BENCH_DEFAULTS, logType: 'core', workload: 'randwrite', ops: 300, ...overrides };
}

const LEG_WRITE_TICKS = 200;

describe('runBenchPerformance', () => {
  it('gives the same figures for the same seed, and other figures for another seed', () => {
    const first = runBenchPerformance(benchCase({ logType: 'disk' }));
    const again = runBenchPerformance(benchCase({ logType: 'disk' }));
    const otherSeed = runBenchPerformance(benchCase({ logType: 'disk', seed: 2 }));
    expect(again).toEqual(first);
    expect(otherSeed.traceHash).not.toBe(first.traceHash);
  });

  it('counts user requests and derives IOPS from simulated time', () => {
    const result = runBenchPerformance(benchCase({ workload: 'mixed' }));
    expect(result.userRequests).toBe(300);
    expect(result.userWrites + result.userReads).toBe(300);
    expect(result.userReads).toBeGreaterThan(0);
    expect(result.simulatedIops).toBeCloseTo((300 * 1_000_000) / result.workloadTicks, 6);
    expect(result.oracle).toBe('ok');
  });

  it('§2.4 core_flush is a no-op: the core log writes nothing and waits for nothing', () => {
    const result = runBenchPerformance(benchCase());
    expect(result.logWrites).toBe(0);
    expect(result.logFlushes).toBe(0);
    expect(result.legFlushes).toBe(0);
    // Fixed latencies: a write costs exactly one leg write.
    expect(result.latencyTicksMean).toBe(LEG_WRITE_TICKS);
    expect(result.latencyTicksP99).toBe(LEG_WRITE_TICKS);
  });

  it('§4.4 a disk-log write to a clean region waits for the log write and the log PREFLUSH', () => {
    const result = runBenchPerformance(benchCase({ logType: 'disk', depth: 1 }));
    const { write, flush } = BENCH_DEFAULTS.logLatency;
    expect(write.kind === 'fixed' && flush.kind === 'fixed').toBe(true);
    const markTicks =
      (write.kind === 'fixed' ? write.ticks : 0) + (flush.kind === 'fixed' ? flush.ticks : 0);
    expect(result.latencyTicksP50).toBeGreaterThanOrEqual(markTicks + LEG_WRITE_TICKS);
    expect(result.logWritesPerWrite).toBeGreaterThan(0);
    expect(result.logBytesPerWrite).toBeCloseTo(
      (result.logBytes / result.logWrites) * result.logWritesPerWrite,
      6,
    );
  });

  it('§2.4 the disk log flushes every leg before it persists cleaned regions', () => {
    const result = runBenchPerformance(benchCase({ logType: 'disk' }));
    expect(result.legFlushes).toBeGreaterThan(0);
    // Both legs receive each mirror_flush.
    expect(result.legFlushes % BENCH_DEFAULTS.legCount).toBe(0);
    expect(result.legFlushesPerWrite).toBeCloseTo(result.legFlushes / result.userWrites, 9);
  });
});

describe('runBenchCrash', () => {
  it('§2.5 a core log forgets everything: every region is resynced after the crash', () => {
    const running = runBenchPerformance(benchCase());
    const crashed = runBenchCrash(benchCase(), Math.ceil(running.userWrites / 2));
    const regions = BENCH_DEFAULTS.sizeSectors / BENCH_DEFAULTS.regionSizeSectors;
    expect(crashed.regionsResyncedAfterCrash).toBe(regions);
    expect(crashed.bytesResyncedAfterCrash).toBe(BENCH_DEFAULTS.sizeSectors * SECTOR_SIZE_BYTES);
    expect(crashed.recoveryTicks).toBeGreaterThan(0);
    expect(crashed.oracle).toBe('ok');
  });

  it('§5.3 a disk log resyncs only the regions it had dirty, and the same ones every time', () => {
    const options = benchCase({ logType: 'disk' });
    const crashed = runBenchCrash(options, 150);
    expect(crashed.regionsResyncedAfterCrash).toBeGreaterThan(0);
    expect(crashed.regionsResyncedAfterCrash).toBeLessThan(
      BENCH_DEFAULTS.sizeSectors / BENCH_DEFAULTS.regionSizeSectors,
    );
    expect(crashed.bytesResyncedAfterCrash).toBe(
      crashed.regionsResyncedAfterCrash * BENCH_DEFAULTS.regionSizeSectors * SECTOR_SIZE_BYTES,
    );
    expect(crashed.crashAfterWrites).toBe(150);
    expect(runBenchCrash(options, 150)).toEqual(crashed);
  });
});

describe('copyRaw', () => {
  it('copies into two stores exactly what the mirror writes to its legs', () => {
    for (const workload of ['randwrite', 'mixed']) {
      const options = benchCase({ workload, ops: 200 });
      const raw = copyRaw(options);
      let legs: SimulatedDevice[] = [];
      runScenario({
        ...options,
        crash: { kind: 'never' },
        crashState: 'none',
        onRecoveredImages: (devices) => {
          legs = devices.filter((device) => device.name.startsWith('leg'));
        },
      });
      expect(legs).toHaveLength(2);
      expect(raw.stores[0].equals(raw.stores[1])).toBe(true);
      for (const leg of legs) expect(leg.content.equals(raw.stores[0])).toBe(true);
      expect(raw.userRequests).toBe(200);
    }
  });

  it('runs its hooks around the copy', () => {
    const events: string[] = [];
    copyRaw(benchCase({ ops: 10 }), {
      onWorkloadStart: () => events.push('start'),
      onWorkloadEnd: () => events.push('end'),
    });
    expect(events).toEqual(['start', 'end']);
  });
});

describe('latencySummary', () => {
  it('gives the mean and nearest-rank percentiles', () => {
    const samples = Array.from({ length: 100 }, (_, index) => index + 1).reverse();
    expect(latencySummary(samples)).toEqual({ mean: 50.5, p50: 50, p99: 99 });
    expect(latencySummary([7])).toEqual({ mean: 7, p50: 7, p99: 7 });
    expect(latencySummary([])).toEqual({ mean: 0, p50: 0, p99: 0 });
  });
});
