/**
 * The sweeps: one parameter varied over one workload (region size, requests
 * in flight, log-device latency), to show the trade-offs a user tunes.
 * Simulated figures only; sweeps are not timed.
 */
import {
  type BenchCaseOptions,
  runBenchCrash,
  runBenchPerformance,
} from '../sim/scenario/bench-scenario.js';
import {
  type BenchPlan,
  type BenchSweep,
  caseOptions,
  crashPoint,
  logLatencyFor,
} from './bench-plan.js';
import type { BenchFailure, BenchSweepPoint } from './bench-report.js';

/** Every point of one sweep, for every log type; a case that throws becomes a failure. */
export function runSweep(
  plan: BenchPlan,
  sweep: BenchSweep,
  logs: readonly string[],
  failures: BenchFailure[],
): BenchSweepPoint[] {
  const points: BenchSweepPoint[] = [];
  for (const value of sweep.values) {
    for (const log of logs) {
      const options = sweepCaseOptions(plan, sweep, value, log);
      try {
        const performance = runBenchPerformance(options);
        const crash = runBenchCrash(options, crashPoint(performance));
        points.push({
          sweep: sweep.name,
          parameter: sweep.parameter,
          value,
          log,
          workload: sweep.workload.name,
          simulatedIops: performance.simulatedIops,
          latencyTicksMean: performance.latencyTicksMean,
          latencyTicksP99: performance.latencyTicksP99,
          logWritesPerWrite: performance.logWritesPerWrite,
          logBytesPerWrite: performance.logBytesPerWrite,
          legFlushesPerWrite: performance.legFlushesPerWrite,
          dirtyRegionsAtCrash: crash.dirtyRegionsAtCrash,
          regionsResyncedAfterCrash: crash.regionsResyncedAfterCrash,
          bytesResyncedAfterCrash: crash.bytesResyncedAfterCrash,
          recoveryTicks: crash.recoveryTicks,
          oracle: performance.oracle === 'ok' && crash.oracle === 'ok' ? 'ok' : 'violated',
        });
      } catch (error) {
        failures.push({ log, workload: `${sweep.name}=${value}`, error: (error as Error).message });
      }
    }
  }
  return points;
}

/** The case of one sweep point: the sweep workload with one parameter changed. */
export function sweepCaseOptions(
  plan: BenchPlan,
  sweep: BenchSweep,
  value: number,
  log: string,
): BenchCaseOptions {
  const workloadBase = caseOptions(plan, log, sweep.workload, plan.sweepOps);
  const base =
    sweep.legLatency === undefined
      ? workloadBase
      : { ...workloadBase, legLatency: sweep.legLatency };
  switch (sweep.name) {
    case 'regionSize':
      return { ...base, regionSizeSectors: value };
    case 'depth':
      return { ...base, depth: value };
    case 'logLatency':
      return {
        ...base,
        logLatency: logLatencyFor(value, plan.logFlushPerWriteLatency, base.logLatency),
      };
  }
}
