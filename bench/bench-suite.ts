/**
 * Runs a {@link BenchPlan}: every usable log type × every workload, the
 * raw-copy baselines, and the sweeps, and returns a {@link BenchReport}.
 * The wall clock comes in as a function (the CLI's), and is read only
 * around workload phases. Repetitions of a workload alternate between the
 * baseline and each log type, so load on a shared machine falls on all of
 * them alike; wall figures are medians.
 */

import {
  type BenchCaseOptions,
  type BenchCrash,
  type BenchPerformance,
  benchTable,
  copyRaw,
  runBenchCrash,
  runBenchPerformance,
} from '../sim/scenario/bench-scenario.js';
import { assert } from '../src/assert.js';
import { SECTOR_SIZE_BYTES } from '../src/block/sector.js';
import { findDirtyLogType, splitLogVariant } from '../src/log/registry.js';
import {
  type BenchPlan,
  type BenchWorkload,
  benchWorkloads,
  caseOptions,
  crashPoint,
  WRITE_PATH_WORKLOADS,
} from './bench-plan.js';
import {
  type BenchBaseline,
  type BenchFailure,
  type BenchReport,
  type BenchRun,
  type BenchSkip,
  type BenchSweepPoint,
  benchDefinitions,
} from './bench-report.js';
import { runSweep } from './bench-sweeps.js';
import { median, opsPerSecond, rotate, timed } from './wall-timing.js';

/** What {@link runBenchSuite} needs from its caller. */
export interface BenchSuiteOptions {
  readonly plan: BenchPlan;
  /** Log types to compare, e.g. `dirtyLogTypeNames()`. */
  readonly logTypes: readonly string[];
  /** Milliseconds of wall-clock time (the CLI's clock). */
  readonly wallClockMs: () => number;
  /** Progress lines for people (stderr). */
  readonly progress?: (line: string) => void;
  /** Where it runs (node, CPU, load, date), copied into the report. */
  readonly machine?: Readonly<Record<string, string | number>>;
  /**
   * Collects garbage before each timed run, so one run's garbage is not
   * collected on the next one's clock (the CLI passes V8's `gc`).
   */
  readonly collectGarbage?: () => void;
}

/** The raw-copy baseline's place in the order of a repetition (never a log type name: those are lower case). */
const RAW_COPY = 'RAW COPY';

/** Runs the whole plan and returns the report; progress goes to `options.progress`. */
export function runBenchSuite(options: BenchSuiteOptions): BenchReport {
  const { plan } = options;
  const startMs = options.wallClockMs();
  const progress = options.progress ?? (() => {});
  const skipped: BenchSkip[] = [];
  const failures: BenchFailure[] = [];
  const usable = options.logTypes.filter((log) => {
    const reason = probeLogType(plan, log);
    if (reason !== null) {
      skipped.push({ log, reason });
      progress(`skipping log type "${log}": ${reason}`);
    }
    return reason === null;
  });
  const runs: BenchRun[] = [];
  const baselines: BenchBaseline[] = [];
  for (const [index, workload] of plan.workloads.entries()) {
    progress(
      `[${index + 1}/${plan.workloads.length}] ${workload.name}: ${usable.join(', ')} × ${plan.repetitions} repetitions`,
    );
    const measured = measureWorkload(options, usable, workload, failures);
    baselines.push(measured.baseline);
    runs.push(...measured.runs);
  }
  const sweeps: BenchSweepPoint[] = [];
  for (const sweep of plan.sweeps) {
    progress(`sweep ${sweep.name}: ${sweep.values.join(', ')}`);
    sweeps.push(...runSweep(plan, sweep, usable, failures));
  }
  return {
    tool: 'mirrorsim bench',
    mode: plan.mode,
    settings: settingsOf(plan),
    definitions: benchDefinitions(plan.base.writeCache),
    workloads: plan.workloads.map(({ name, description }) => ({ name, description })),
    logTypes: usable,
    skipped,
    failures,
    runs: withRatioToCore(runs),
    baselines,
    sweepPlans: plan.sweeps.map((sweep) => ({
      name: sweep.name,
      parameter: sweep.parameter,
      workload: sweep.workload.name,
      values: sweep.values,
      note: sweep.note,
    })),
    sweeps,
    coreWritePathRatio: coreWritePathRatio(runs),
    wallSeconds: (options.wallClockMs() - startMs) / 1000,
    machine: options.machine ?? {},
  };
}

/**
 * Checks that a log type can be built from its defaults and runs it once
 * untimed (the warm-up). Returns why it cannot be used, or null.
 */
function probeLogType(plan: BenchPlan, log: string): string | null {
  const type = findDirtyLogType(splitLogVariant(log).type);
  if (type === undefined) return 'not registered';
  if (type.defaultTableArgs === undefined)
    return 'it has no defaultTableArgs, so no table can be built from defaults';
  // Random writes: generated, so the probe blames the log type and never a missing trace file.
  const probe = caseOptions(plan, log, benchWorkloads()[0]!, plan.warmupOps);
  try {
    benchTable(probe);
    runBenchPerformance(probe);
  } catch (error) {
    return `cannot be built or run from defaults: ${(error as Error).message}`;
  }
  return null;
}

interface CaseSamples {
  performance: BenchPerformance | undefined;
  wallOpsPerSec: number[];
  failed: boolean;
}

/** Measures one workload: the timed repetitions, then one crash run per log type. */
function measureWorkload(
  options: BenchSuiteOptions,
  logs: readonly string[],
  workload: BenchWorkload,
  failures: BenchFailure[],
): { baseline: BenchBaseline; runs: BenchRun[] } {
  const { plan } = options;
  const { baselineSamples, samples } = timeRepetitions(options, logs, workload, failures);
  const baseline: BenchBaseline = {
    workload: workload.name,
    rawCopyWallOpsPerSec: median(baselineSamples),
    rawCopyWallOpsPerSecSamples: baselineSamples,
  };
  const runs: BenchRun[] = [];
  for (const log of logs) {
    const sample = samples.get(log)!;
    if (sample.failed || sample.performance === undefined) continue;
    const crashOptions = caseOptions(plan, log, workload, plan.ops);
    const crash = crashCase(crashOptions, workload.name, sample.performance, failures);
    if (crash === null) continue;
    const performance = sample.performance;
    runs.push(benchRun({ log, workload, plan, performance, crash, sample, baseline }));
  }
  return { baseline, runs };
}

/**
 * The timed repetitions of one workload: the raw copy and every log type
 * in turn, in an order that rotates each repetition, so no contender
 * always runs first or last. Each repetition must simulate exactly what
 * the first did (same trace hash): a self-check of determinism.
 */
function timeRepetitions(
  options: BenchSuiteOptions,
  logs: readonly string[],
  workload: BenchWorkload,
  failures: BenchFailure[],
): { baselineSamples: number[]; samples: Map<string, CaseSamples> } {
  const { plan } = options;
  const baselineSamples: number[] = [];
  const samples = new Map<string, CaseSamples>(
    logs.map((log) => [log, { performance: undefined, wallOpsPerSec: [], failed: false }]),
  );
  const rawOptions = caseOptions(plan, 'core', workload, plan.ops);
  for (let repetition = 0; repetition < plan.repetitions; repetition++) {
    for (const contender of rotate([RAW_COPY, ...logs], repetition)) {
      options.collectGarbage?.();
      if (contender === RAW_COPY) {
        const raw = timed(options.wallClockMs, (hooks) => copyRaw(rawOptions, hooks));
        baselineSamples.push(opsPerSecond(raw.value.userRequests, raw.wallMs));
        continue;
      }
      const sample = samples.get(contender)!;
      if (sample.failed) continue;
      try {
        const caseOfLog = caseOptions(plan, contender, workload, plan.ops);
        const run = timed(options.wallClockMs, (hooks) => runBenchPerformance(caseOfLog, hooks));
        const first = sample.performance?.traceHash ?? run.value.traceHash;
        assert(
          run.value.traceHash === first,
          `${contender} × ${workload.name}: trace hash ${run.value.traceHash} differs from ${first} in an earlier repetition`,
        );
        sample.performance = run.value;
        sample.wallOpsPerSec.push(opsPerSecond(run.value.userRequests, run.wallMs));
      } catch (error) {
        sample.failed = true;
        failures.push({ log: contender, workload: workload.name, error: (error as Error).message });
      }
    }
  }
  return { baselineSamples, samples };
}

/** The crash run of a case, after half its writes; null (and a failure recorded) if it threw. */
function crashCase(
  options: BenchCaseOptions,
  workloadName: string,
  performance: BenchPerformance,
  failures: BenchFailure[],
): BenchCrash | null {
  try {
    return runBenchCrash(options, crashPoint(performance));
  } catch (error) {
    failures.push({
      log: options.logType,
      workload: workloadName,
      error: (error as Error).message,
    });
    return null;
  }
}

function benchRun(input: {
  readonly log: string;
  readonly workload: BenchWorkload;
  readonly plan: BenchPlan;
  readonly performance: BenchPerformance;
  readonly crash: BenchCrash;
  readonly sample: CaseSamples;
  readonly baseline: BenchBaseline;
}): BenchRun {
  const { performance, crash, baseline } = input;
  const wallOpsPerSec = median(input.sample.wallOpsPerSec);
  return {
    log: input.log,
    workload: input.workload.name,
    table: performance.table,
    ops: input.plan.ops,
    blockSizeBytes: input.workload.blockSizeSectors * SECTOR_SIZE_BYTES,
    userRequests: performance.userRequests,
    userWrites: performance.userWrites,
    userReads: performance.userReads,
    userFlushes: performance.userFlushes,
    workloadTicks: performance.workloadTicks,
    simulatedIops: performance.simulatedIops,
    ratioToCore: null,
    latencyTicksMean: performance.latencyTicksMean,
    latencyTicksP50: performance.latencyTicksP50,
    latencyTicksP99: performance.latencyTicksP99,
    logWritesPerWrite: performance.logWritesPerWrite,
    logBytesPerWrite: performance.logBytesPerWrite,
    logFlushesPerWrite: performance.logFlushesPerWrite,
    legFlushesPerWrite: performance.legFlushesPerWrite,
    daemonRoundTripsPerWrite: performance.daemonRoundTripsPerWrite,
    crashAfterWrites: crash.crashAfterWrites,
    dirtyRegionsAtCrash: crash.dirtyRegionsAtCrash,
    regionsResyncedAfterCrash: crash.regionsResyncedAfterCrash,
    bytesResyncedAfterCrash: crash.bytesResyncedAfterCrash,
    recoveryTicks: crash.recoveryTicks,
    wallOpsPerSec,
    wallOpsPerSecSamples: input.sample.wallOpsPerSec,
    wallRatioToRawCopy:
      baseline.rawCopyWallOpsPerSec === 0 ? 0 : wallOpsPerSec / baseline.rawCopyWallOpsPerSec,
    baseline,
    oracle: performance.oracle === 'ok' && crash.oracle === 'ok' ? 'ok' : 'violated',
    violations: [...performance.violations, ...crash.violations],
    traceHash: performance.traceHash,
  };
}

/** Each run's simulated IOPS over the core log's on the same workload. */
export function withRatioToCore(runs: readonly BenchRun[]): BenchRun[] {
  return runs.map((run) => {
    const core = runs.find((other) => other.log === 'core' && other.workload === run.workload);
    const ratioToCore =
      core === undefined || core.simulatedIops === 0
        ? null
        : run.simulatedIops / core.simulatedIops;
    return { ...run, ratioToCore };
  });
}

/** The lowest core wallRatioToRawCopy over the write-only workloads (null without core runs). */
function coreWritePathRatio(runs: readonly BenchRun[]): number | null {
  const ratios = runs
    .filter((run) => run.log === 'core' && WRITE_PATH_WORKLOADS.includes(run.workload))
    .map((run) => run.wallRatioToRawCopy);
  return ratios.length === 0 ? null : Math.min(...ratios);
}

function settingsOf(plan: BenchPlan): BenchReport['settings'] {
  const ticks = (latency: BenchCaseOptions['legLatency']) => ({
    read: fixedTicks(latency.read),
    write: fixedTicks(latency.write),
    flush: fixedTicks(latency.flush),
  });
  return {
    seed: plan.base.seed,
    faults: 'off',
    writeCache: plan.base.writeCache,
    tickMicroseconds: 1,
    legLatencyTicks: ticks(plan.base.legLatency),
    logLatencyTicks: ticks(plan.base.logLatency),
    mirrorSizeBytes: plan.base.sizeSectors * SECTOR_SIZE_BYTES,
    legs: plan.base.legCount,
    regionSizeSectors: plan.base.regionSizeSectors,
    depth: plan.base.depth,
    flushEveryWrites: plan.base.flushEveryWrites,
    ops: plan.ops,
    repetitions: plan.repetitions,
    sweepOps: plan.sweepOps,
    crash: 'after half the user writes were acknowledged, strategy none',
  };
}

function fixedTicks(model: BenchCaseOptions['legLatency']['read']): number {
  assert(model.kind === 'fixed', 'performance mode uses fixed latencies');
  return model.ticks;
}
