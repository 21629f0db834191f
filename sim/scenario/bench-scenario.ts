/**
 * One benchmark case: a log type on a workload in performance mode (faults
 * off, fixed latencies, one seed). It runs the `run` scenario twice over the
 * same table and seed: once to the end of the workload for the figures of a
 * running mirror, once with a crash after half the writes (strategy `none`)
 * for what recovery costs. Every figure here is simulated and deterministic;
 * wall-clock timing is the caller's, through the workload hooks, because
 * nothing under sim/ may read the wall clock.
 *
 * @example
 * ```ts
 * const options = { ...BENCH_DEFAULTS, logType: 'disk', workload: 'randwrite', ops: 2000 };
 * const running = runBenchPerformance(options);
 * const crashed = runBenchCrash(options, Math.ceil(running.userWrites / 2));
 * running.logWritesPerWrite; // log-device writes per user write
 * crashed.bytesResyncedAfterCrash;
 * ```
 */

import { assert } from '../../src/assert.js';
import type { DeviceLatency } from '../../src/block/latency.js';
import { SECTOR_SIZE_BYTES } from '../../src/block/sector.js';
import { type DeviceStats, emptyDeviceStats } from '../../src/block/simulated-device.js';
import { SparseStore } from '../../src/block/sparse-store.js';
import type { WorkloadDriver } from '../driver/workload-driver.js';
import type { MirrorStack } from '../mirror-stack.js';
import { SeededRandom } from '../random.js';
import { existingUlogMachine } from '../userspace/ulog-machine.js';
import { stampWriteData } from '../workload/payload.js';
import { createWorkload } from '../workload/workload.js';
import { buildTable, runScenario } from './run-scenario.js';

/** Ticks per simulated second (1 tick = 1 µs). */
export const TICKS_PER_SECOND = 1_000_000;

/** Leg latencies in performance mode, fixed, in ticks: an SSD-like device. */
export const BENCH_LEG_LATENCY: DeviceLatency = {
  read: { kind: 'fixed', ticks: 100 },
  write: { kind: 'fixed', ticks: 200 },
  flush: { kind: 'fixed', ticks: 1000 },
};

/** Log-device latencies in performance mode, fixed, in ticks: the same kind of device as the legs. */
export const BENCH_LOG_LATENCY: DeviceLatency = {
  read: { kind: 'fixed', ticks: 100 },
  write: { kind: 'fixed', ticks: 200 },
  flush: { kind: 'fixed', ticks: 1000 },
};

/** What one case is run with. Faults are always off. */
export interface BenchCaseOptions {
  readonly seed: number;
  readonly logType: string;
  /** A workload spec for `createWorkload`. */
  readonly workload: string;
  readonly ops: number;
  readonly depth: number;
  readonly blockSizeSectors: number;
  readonly regionSizeSectors: number;
  readonly sizeSectors: number;
  readonly legCount: number;
  /** Volatile write caches on every device (flushes and FUA then matter). */
  readonly writeCache: boolean;
  /** A flush after every N user writes (0: only the flushes the workload itself issues). */
  readonly flushEveryWrites: number;
  readonly legLatency: DeviceLatency;
  readonly logLatency: DeviceLatency;
}

/** Defaults of everything but the log type, workload and ops. */
export const BENCH_DEFAULTS = {
  seed: 1,
  depth: 16,
  blockSizeSectors: 8,
  regionSizeSectors: 1024,
  sizeSectors: 131072,
  legCount: 2,
  // Off: with fixed latencies the cost figures are the same with the cache on, and the simulator runs faster.
  writeCache: false,
  flushEveryWrites: 0,
  legLatency: BENCH_LEG_LATENCY,
  logLatency: BENCH_LOG_LATENCY,
} as const;

/** Wall-clock hooks around the workload phase (setup and verification stay outside). */
export interface BenchHooks {
  readonly onWorkloadStart?: () => void;
  readonly onWorkloadEnd?: () => void;
}

/** The deterministic figures of one run to the end of its workload. */
export interface BenchPerformance {
  readonly table: string;
  /** User reads, writes and discards completed (flushes are counted apart). */
  readonly userRequests: number;
  readonly userWrites: number;
  readonly userReads: number;
  readonly userFlushes: number;
  /** Simulated time of the workload phase, from its first issue to its last completion. */
  readonly workloadTicks: number;
  /** User requests completed per simulated second. */
  readonly simulatedIops: number;
  /** Issue → acknowledgement of user writes, in ticks. */
  readonly latencyTicksMean: number;
  readonly latencyTicksP50: number;
  readonly latencyTicksP99: number;
  /** Write requests every log device received during the workload. */
  readonly logWrites: number;
  readonly logBytes: number;
  readonly logFlushes: number;
  /** Flushes every leg received during the workload (summed over legs). */
  readonly legFlushes: number;
  readonly logWritesPerWrite: number;
  readonly logBytesPerWrite: number;
  readonly logFlushesPerWrite: number;
  readonly legFlushesPerWrite: number;
  /** Requests the kernel sent a userspace log daemon (resends included) per user write; null for other logs. */
  readonly daemonRoundTripsPerWrite: number | null;
  readonly oracle: 'ok' | 'violated';
  readonly violations: readonly string[];
  readonly traceHash: string;
  /** Simulation events during the workload. */
  readonly workloadEvents: number;
}

/** The deterministic figures of a crash at a fixed point and the recovery after it. */
export interface BenchCrash {
  /** The crash came once this many user writes were acknowledged. */
  readonly crashAfterWrites: number;
  readonly dirtyRegionsAtCrash: number;
  readonly regionsResyncedAfterCrash: number;
  readonly bytesResyncedAfterCrash: number;
  /** From the rebooted stack's resume to the end of recovery. */
  readonly recoveryTicks: number;
  readonly oracle: 'ok' | 'violated';
  readonly violations: readonly string[];
}

/** The table line of a case, from the log type's `defaultTableArgs`. Throws TableError if it has none. */
export function benchTable(options: BenchCaseOptions): string {
  return buildTable(options);
}

/** Runs the workload to its end, faults off, no crash; every acknowledged write is then verified. */
export function runBenchPerformance(
  options: BenchCaseOptions,
  hooks: BenchHooks = {},
): BenchPerformance {
  let start: PhaseSnapshot | undefined;
  let end: PhaseSnapshot | undefined;
  let driverSeen: WorkloadDriver | undefined;
  const result = runScenario({
    ...scenarioOptions(options),
    crash: { kind: 'never' },
    onWorkloadStart: (stack) => {
      start = snapshot(stack);
      hooks.onWorkloadStart?.();
    },
    onWorkloadEnd: (stack, driver) => {
      hooks.onWorkloadEnd?.();
      end = snapshot(stack);
      driverSeen = driver;
    },
  });
  assert(
    start !== undefined && end !== undefined && driverSeen !== undefined,
    'workload hooks did not run',
  );
  return performanceFigures(result.table, start, end, driverSeen, result);
}

/** Runs the same case and crashes it once `crashAfterWrites` writes were acknowledged. */
export function runBenchCrash(options: BenchCaseOptions, crashAfterWrites: number): BenchCrash {
  assert(
    Number.isSafeInteger(crashAfterWrites) && crashAfterWrites >= 0,
    'crash point is not a count',
  );
  const result = runScenario({
    ...scenarioOptions(options),
    crash: { kind: 'afterWrites', writes: crashAfterWrites },
  });
  assert(result.crashed, 'the crash run did not crash');
  return {
    crashAfterWrites,
    dirtyRegionsAtCrash: result.dirtyRegionsAtCrash,
    regionsResyncedAfterCrash: result.regionsResynced,
    bytesResyncedAfterCrash: result.bytesResynced,
    recoveryTicks: result.recoveryTicks,
    oracle: result.oracle,
    violations: result.violations,
  };
}

/** What a raw copy did: the requests it replayed and a digest of what it wrote. */
export interface RawCopy {
  readonly userRequests: number;
  readonly userWrites: number;
  /** The two copies, for checks that the mirror's legs hold the same bytes. */
  readonly stores: readonly [SparseStore, SparseStore];
}

/**
 * The raw-copy baseline: the same requests the case's workload yields,
 * with the same stamped data and write ids, copied straight into two
 * SparseStores with no mirror, no log and no scheduler. Reads read one
 * copy, discards zero both. Whatever the simulator adds is on top of this.
 */
export function copyRaw(options: BenchCaseOptions, hooks: BenchHooks = {}): RawCopy {
  const workload = createWorkload(options.workload, {
    deviceSizeSectors: options.sizeSectors,
    blockSizeSectors: options.blockSizeSectors,
    ops: options.ops,
    // The stream `runScenario`'s world gives the workload: the same requests.
    random: new SeededRandom(options.seed).stream('workload'),
  });
  const stores: [SparseStore, SparseStore] = [
    new SparseStore(options.sizeSectors),
    new SparseStore(options.sizeSectors),
  ];
  let writeId = 1;
  let userRequests = 0;
  let userWrites = 0;
  hooks.onWorkloadStart?.();
  for (let request = workload.next(); request !== undefined; request = workload.next()) {
    if (request.op === 'write') {
      const data = stampWriteData(writeId++, request.sector, request.sectorCount);
      stores[0].write(request.sector, data);
      stores[1].write(request.sector, data);
      userWrites++;
    } else if (request.op === 'discard') {
      writeId++;
      stores[0].zero(request.sector, request.sectorCount);
      stores[1].zero(request.sector, request.sectorCount);
    } else if (request.op === 'read') {
      stores[0].read(request.sector, request.sectorCount);
    }
    if (request.op !== 'flush') userRequests++;
  }
  hooks.onWorkloadEnd?.();
  return { userRequests, userWrites, stores };
}

interface PhaseSnapshot {
  readonly ticks: number;
  readonly steps: number;
  readonly legs: DeviceStats;
  readonly logs: DeviceStats;
  /** Requests sent to a userspace log daemon so far, or null when the world has none. */
  readonly daemonRequests: number | null;
}

/** Device counters summed by role: legs are the devices the table named as legs, the rest log devices. */
function snapshot(stack: MirrorStack): PhaseSnapshot {
  const legs = emptyDeviceStats();
  const logs = emptyDeviceStats();
  for (const device of stack.world.devices) {
    addStats(stack.legDevices.includes(device) ? legs : logs, device.stats);
  }
  return {
    ticks: stack.world.scheduler.now(),
    steps: stack.world.scheduler.steps,
    legs,
    logs,
    daemonRequests: existingUlogMachine(stack.world)?.requestsSent ?? null,
  };
}

function performanceFigures(
  table: string,
  start: PhaseSnapshot,
  end: PhaseSnapshot,
  driver: WorkloadDriver,
  result: {
    readonly oracle: 'ok' | 'violated';
    readonly violations: readonly string[];
    readonly traceHash: string;
  },
): BenchPerformance {
  const stats = driver.stats;
  assert(driver.done, 'the performance run ended before its workload');
  const userWrites = stats.writesAcknowledged + stats.writeErrors;
  const userRequests = userWrites + stats.reads + stats.discards;
  const workloadTicks = end.ticks - start.ticks;
  const perWrite = (count: number) => (userWrites === 0 ? 0 : count / userWrites);
  const logWrites = end.logs.writes - start.logs.writes;
  const logBytes = (end.logs.sectorsWritten - start.logs.sectorsWritten) * SECTOR_SIZE_BYTES;
  const logFlushes = end.logs.flushes - start.logs.flushes;
  const legFlushes = end.legs.flushes - start.legs.flushes;
  const latency = latencySummary(stats.writeLatencyTicks);
  return {
    table,
    userRequests,
    userWrites,
    userReads: stats.reads,
    userFlushes: stats.flushes,
    workloadTicks,
    simulatedIops: workloadTicks === 0 ? 0 : (userRequests * TICKS_PER_SECOND) / workloadTicks,
    latencyTicksMean: latency.mean,
    latencyTicksP50: latency.p50,
    latencyTicksP99: latency.p99,
    logWrites,
    logBytes,
    logFlushes,
    legFlushes,
    logWritesPerWrite: perWrite(logWrites),
    logBytesPerWrite: perWrite(logBytes),
    logFlushesPerWrite: perWrite(logFlushes),
    legFlushesPerWrite: perWrite(legFlushes),
    daemonRoundTripsPerWrite:
      end.daemonRequests === null
        ? null
        : perWrite(end.daemonRequests - (start.daemonRequests ?? 0)),
    oracle: result.oracle,
    violations: result.violations,
    traceHash: result.traceHash,
    workloadEvents: end.steps - start.steps,
  };
}

/** Mean and nearest-rank percentiles of latency samples (0 when there are none). */
export function latencySummary(samples: readonly number[]): {
  mean: number;
  p50: number;
  p99: number;
} {
  if (samples.length === 0) return { mean: 0, p50: 0, p99: 0 };
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const sample of sorted) sum += sample;
  const rank = (fraction: number) => sorted[Math.max(0, Math.ceil(fraction * sorted.length) - 1)]!;
  return { mean: sum / sorted.length, p50: rank(0.5), p99: rank(0.99) };
}

function scenarioOptions(options: BenchCaseOptions) {
  return {
    seed: options.seed,
    logType: options.logType,
    legCount: options.legCount,
    regionSizeSectors: options.regionSizeSectors,
    sizeSectors: options.sizeSectors,
    workload: options.workload,
    ops: options.ops,
    depth: options.depth,
    blockSizeSectors: options.blockSizeSectors,
    crashState: 'none' as const,
    flushEveryWrites: options.flushEveryWrites,
    legLatency: options.legLatency,
    logLatency: options.logLatency,
    writeCache: options.writeCache,
  };
}

function addStats(total: DeviceStats, add: DeviceStats): void {
  for (const key of Object.keys(total) as (keyof DeviceStats)[]) total[key] += add[key];
}
