/**
 * The benchmark suite (bench/bench-suite.ts) on a tiny plan with a scripted
 * wall clock: the report carries every field the issue names, simulated
 * figures repeat exactly, ratios use the same run's baselines, and log types
 * that cannot be built from defaults are skipped with a reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BenchPlan, benchPlan, benchWorkloads } from '../../bench/bench-plan.js';
import type { BenchReport } from '../../bench/bench-report.js';
import { runBenchSuite } from '../../bench/bench-suite.js';
import { median } from '../../bench/wall-timing.js';
import '../../src/log/builtin-logs.js';
import {
  findDirtyLogType,
  registerDirtyLogType,
  unregisterDirtyLogType,
} from '../../src/log/registry.js';

/** A plan small enough for a unit test: two workloads (one a recorded fio trace), small sweeps. */
function tinyPlan(): BenchPlan {
  const plan = benchPlan('quick');
  const workloads = benchWorkloads().filter((workload) =>
    ['randwrite', 'fio-randwrite'].includes(workload.name),
  );
  return {
    ...plan,
    workloads,
    ops: 120,
    repetitions: 2,
    warmupOps: 40,
    sweepOps: 60,
    sweeps: plan.sweeps.map((sweep) => ({ ...sweep, values: sweep.values.slice(0, 2) })),
  };
}

/** A wall clock that advances `stepMs` more at every reading than at the one before. */
function acceleratingClock(stepMs: number): () => number {
  let readings = 0;
  let nowMs = 0;
  return () => {
    readings++;
    nowMs += readings * stepMs;
    return nowMs;
  };
}

function runTiny(logTypes: readonly string[], clock = acceleratingClock(0.5)): BenchReport {
  return runBenchSuite({ plan: tinyPlan(), logTypes, wallClockMs: clock });
}

const RUN_FIELDS = [
  'log',
  'workload',
  'simulatedIops',
  'latencyTicksMean',
  'latencyTicksP99',
  'logWritesPerWrite',
  'logBytesPerWrite',
  'legFlushesPerWrite',
  'regionsResyncedAfterCrash',
  'bytesResyncedAfterCrash',
  'recoveryTicks',
  'wallOpsPerSec',
  'ratioToCore',
  'wallRatioToRawCopy',
] as const;

/** The fields of a run that come from the simulation alone. */
function simulatedFigures(report: BenchReport): unknown[] {
  return report.runs.map((run) => {
    const {
      wallOpsPerSec: _wall,
      wallOpsPerSecSamples: _samples,
      wallRatioToRawCopy: _ratio,
      baseline: _baseline,
      ...simulated
    } = run;
    return simulated;
  });
}

describe('runBenchSuite', () => {
  let report: BenchReport;
  beforeAll(() => {
    report = runTiny(['core', 'disk']);
  });

  it('runs every log type on every workload and writes every field the issue names as JSON', () => {
    const json = JSON.parse(JSON.stringify(report)) as { runs: Record<string, unknown>[] };
    expect(json.runs).toHaveLength(4);
    for (const run of json.runs) {
      for (const field of RUN_FIELDS) expect(run).toHaveProperty(field);
      expect(run).toHaveProperty('baseline.rawCopyWallOpsPerSec');
      expect(typeof run.simulatedIops).toBe('number');
      expect(run.oracle).toBe('ok');
    }
    expect(report.runs.map((run) => `${run.log}×${run.workload}`).sort()).toEqual([
      'core×fio-randwrite',
      'core×randwrite',
      'disk×fio-randwrite',
      'disk×randwrite',
    ]);
    expect(report.failures).toEqual([]);
  });

  it('states performance mode and its fixed latencies', () => {
    expect(report.settings.faults).toBe('off');
    expect(report.settings.legLatencyTicks).toEqual({ read: 100, write: 200, flush: 1000 });
    expect(report.definitions.performanceMode).toContain('fixed latencies');
    expect(report.definitions.performanceMode).toContain('1 tick = 1 µs');
  });

  it('computes ratios against the same run: core for IOPS, the raw copy of the same workload for wall speed', () => {
    for (const run of report.runs) {
      const core = report.runs.find(
        (other) => other.log === 'core' && other.workload === run.workload,
      )!;
      expect(run.ratioToCore).toBeCloseTo(run.simulatedIops / core.simulatedIops, 12);
      const baseline = report.baselines.find((other) => other.workload === run.workload)!;
      expect(run.baseline).toEqual(baseline);
      expect(run.wallRatioToRawCopy).toBeCloseTo(
        run.wallOpsPerSec / baseline.rawCopyWallOpsPerSec,
        12,
      );
      expect(run.wallOpsPerSec).toBe(median(run.wallOpsPerSecSamples));
      expect(run.wallOpsPerSecSamples).toHaveLength(2);
    }
    const coreRun = report.runs.find((run) => run.log === 'core')!;
    expect(coreRun.ratioToCore).toBe(1);
    expect(report.coreWritePathRatio).toBe(
      report.runs.find((run) => run.log === 'core' && run.workload === 'randwrite')!
        .wallRatioToRawCopy,
    );
  });

  it('gives a wall ratio of 1 when the simulator takes as long as the raw copy', () => {
    let nowMs = 0;
    const steadyClock = () => {
      nowMs += 5;
      return nowMs;
    };
    const steady = runTiny(['core'], steadyClock);
    const randwrite = steady.runs.find((run) => run.workload === 'randwrite')!;
    // Every timed phase lasts one clock step, and both replay the same 120 writes.
    expect(randwrite.wallRatioToRawCopy).toBe(1);
    expect(randwrite.baseline.rawCopyWallOpsPerSec).toBe((120 * 1000) / 5);
  });

  it('repeats its simulated figures exactly for the same seed', () => {
    const again = runTiny(['core', 'disk'], acceleratingClock(0.25));
    expect(simulatedFigures(again)).toEqual(simulatedFigures(report));
    expect(again.sweeps).toEqual(report.sweeps);
  });

  it('runs every sweep for every log type, each point verified', () => {
    const plan = tinyPlan();
    expect(report.sweeps).toHaveLength(plan.sweeps.length * 2 * 2);
    for (const sweep of plan.sweeps) {
      const points = report.sweeps.filter((point) => point.sweep === sweep.name);
      expect(points.map((point) => point.value)).toEqual(
        sweep.values.flatMap((value) => [value, value]),
      );
      expect(points.every((point) => point.oracle === 'ok')).toBe(true);
      expect(points.every((point) => point.workload === sweep.workload.name)).toBe(true);
    }
    const resync = (log: string, value: number) =>
      report.sweeps.find(
        (point) => point.sweep === 'regionSize' && point.log === log && point.value === value,
      )!.bytesResyncedAfterCrash;
    const [small, large] = plan.sweeps.find((sweep) => sweep.name === 'regionSize')!.values;
    // A bigger region resyncs at least as much for what its marks cover.
    expect(resync('disk', large!)).toBeGreaterThanOrEqual(resync('disk', small!));
  });
});

describe('log types that cannot be built from defaults', () => {
  beforeAll(() => {
    const core = findDirtyLogType('core')!;
    registerDirtyLogType({ name: 'bench-no-defaults', summary: 'test', create: core.create });
    registerDirtyLogType({
      name: 'bench-bad-defaults',
      summary: 'test',
      create: core.create,
      defaultTableArgs: () => ['not-a-region-size'],
    });
  });
  afterAll(() => {
    unregisterDirtyLogType('bench-no-defaults');
    unregisterDirtyLogType('bench-bad-defaults');
  });

  it('are skipped with a note saying why, and the others still run', () => {
    const plan = { ...tinyPlan(), workloads: tinyPlan().workloads.slice(0, 1), sweeps: [] };
    const result = runBenchSuite({
      plan,
      logTypes: ['bench-bad-defaults', 'bench-no-defaults', 'core'],
      wallClockMs: acceleratingClock(1),
    });
    expect(result.logTypes).toEqual(['core']);
    expect(result.skipped.map((skip) => skip.log)).toEqual([
      'bench-bad-defaults',
      'bench-no-defaults',
    ]);
    expect(result.skipped[0]!.reason).toContain('not-a-region-size');
    expect(result.skipped[1]!.reason).toContain('defaultTableArgs');
    expect(result.runs.map((run) => run.log)).toEqual(['core']);
  });
});
