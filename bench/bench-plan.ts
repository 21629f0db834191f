/**
 * What `mirrorsim bench` runs: the workloads, their sizes, the sweeps and
 * the repetitions, for the full set (`npm run bench`) and for `--quick`.
 * Every case shares one seed and performance mode, so log types compare
 * like for like (reference crash-simulation.md §7.6).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  BENCH_DEFAULTS,
  BENCH_LEG_LATENCY,
  type BenchCaseOptions,
  type BenchPerformance,
} from '../sim/scenario/bench-scenario.js';
import type { DeviceLatency } from '../src/block/latency.js';

/** One workload of the main table. */
export interface BenchWorkload {
  /** The short name in tables, JSON and charts. */
  readonly name: string;
  /** The spec `createWorkload` takes. */
  readonly spec: string;
  readonly blockSizeSectors: number;
  /** One line for people. */
  readonly description: string;
}

/** A sweep: one parameter varied over a workload, every other setting as in the main table. */
export interface BenchSweep {
  readonly name: 'regionSize' | 'depth' | 'logLatency';
  /** What the value is, with its unit. */
  readonly parameter: string;
  readonly values: readonly number[];
  readonly workload: BenchWorkload;
  /** Leg latencies when they differ from performance mode's. */
  readonly legLatency?: DeviceLatency;
  /** What differs from the main table, and why, in one sentence. */
  readonly note: string;
}

/** `full` for `npm run bench`, `quick` for `mirrorsim bench --quick`. */
export type BenchMode = 'quick' | 'full';

/** Workloads whose requests are all writes: the core log's ratio to raw copy is judged on these. */
export const WRITE_PATH_WORKLOADS: readonly string[] = ['randwrite', 'seqwrite', 'zipf'];

/** Everything one benchmark run does: cases, sizes, repetitions and sweeps. */
export interface BenchPlan {
  readonly mode: BenchMode;
  /** Everything a case needs except log type, workload, ops and block size. */
  readonly base: Omit<BenchCaseOptions, 'logType' | 'workload' | 'ops' | 'blockSizeSectors'>;
  readonly workloads: readonly BenchWorkload[];
  /** Requests per case of the main table. */
  readonly ops: number;
  /** Timed repetitions of each case; wall figures are their median. */
  readonly repetitions: number;
  /** Requests of the untimed warm-up run of each log type (also the probe that it can be built). */
  readonly warmupOps: number;
  /** Requests per sweep point. */
  readonly sweepOps: number;
  readonly sweeps: readonly BenchSweep[];
  /** Log write latency → flush latency in the log-latency sweep: flush = write × this. */
  readonly logFlushPerWriteLatency: number;
}

/**
 * A recorded fio trace committed under bench/traces (see its README). Run
 * by tsx this file sits next to traces/; compiled, it sits in dist/bench/,
 * two levels below the checkout's bench/traces/.
 */
export function tracePath(name: string): string {
  const candidates = [`./traces/${name}`, `../../bench/traces/${name}`].map((relative) =>
    fileURLToPath(new URL(relative, import.meta.url)),
  );
  return candidates.find((path) => existsSync(path)) ?? candidates[0]!;
}

const SECTORS_4K = 8;
const SECTORS_64K = 128;

/** The region-size sweep's workload: small sequential writes, which stay in one region for a while. */
const SEQUENTIAL_4K: BenchWorkload = {
  name: 'seqwrite-4k',
  spec: 'seqwrite',
  blockSizeSectors: SECTORS_4K,
  description: 'sequential 4 KiB writes',
};

/** Leg latencies with a seeded spread on writes, so writes overlap across kmirrord passes. */
const JITTERED_LEG_LATENCY: DeviceLatency = {
  ...BENCH_LEG_LATENCY,
  write: { kind: 'exponential', minimumTicks: 50, meanTicks: 200 },
};

/** The workloads of the main table. */
export function benchWorkloads(): BenchWorkload[] {
  return [
    {
      name: 'randwrite',
      spec: 'randwrite',
      blockSizeSectors: SECTORS_4K,
      description: 'random 4 KiB writes',
    },
    {
      name: 'seqwrite',
      spec: 'seqwrite',
      blockSizeSectors: SECTORS_64K,
      description: 'sequential 64 KiB writes',
    },
    {
      name: 'zipf',
      spec: 'zipf',
      blockSizeSectors: SECTORS_4K,
      description: 'a zipf(1.2) hot spot of 4 KiB writes',
    },
    {
      name: 'mixed',
      spec: 'mixed',
      blockSizeSectors: SECTORS_4K,
      description: 'random 4 KiB requests, 70 % writes and 30 % reads',
    },
    {
      name: 'fio-randwrite',
      spec: `fio:${tracePath('fio-randwrite-v3.iolog')}`,
      blockSizeSectors: SECTORS_4K,
      description:
        'a recorded fio trace: zipf 4 KiB writes with an fsync every 32 (replayed in a loop)',
    },
    {
      name: 'fio-trimwrite',
      spec: `fio:${tracePath('fio-trimwrite-v3.iolog')}`,
      blockSizeSectors: SECTORS_4K,
      description:
        'a recorded fio trace: 16 KiB trims, each followed by a write (replayed in a loop)',
    },
  ];
}

/** The plan for a mode; `seed` overrides the default seed. */
export function benchPlan(
  mode: BenchMode,
  overrides: { readonly seed?: number; readonly writeCache?: boolean } = {},
): BenchPlan {
  const quick = mode === 'quick';
  const workloads = benchWorkloads();
  return {
    mode,
    base: {
      ...BENCH_DEFAULTS,
      seed: overrides.seed ?? BENCH_DEFAULTS.seed,
      writeCache: overrides.writeCache ?? BENCH_DEFAULTS.writeCache,
    },
    workloads,
    ops: quick ? 3000 : 20000,
    repetitions: 3,
    warmupOps: quick ? 1000 : 4000,
    sweepOps: quick ? 2000 : 8000,
    sweeps: [
      {
        name: 'regionSize',
        parameter: 'region size (sectors)',
        values: quick ? [64, 1024, 16384] : [64, 256, 1024, 4096, 16384],
        workload: SEQUENTIAL_4K,
        legLatency: JITTERED_LEG_LATENCY,
        note: 'sequential 4 KiB writes with leg write latency drawn from the seed (50 + exponential, mean 200 ticks): with fixed latencies a whole batch completes at once, every region drains each kmirrord pass and is marked again, so the mark rate would not depend on region size',
      },
      {
        name: 'depth',
        parameter: 'requests in flight',
        values: quick ? [1, 16, 64] : [1, 4, 16, 64],
        workload: workloads[0]!,
        note: 'random 4 KiB writes, performance mode',
      },
      {
        name: 'logLatency',
        parameter: 'log-device write latency (ticks)',
        values: quick ? [50, 200, 2000] : [50, 200, 1000, 5000],
        workload: workloads[0]!,
        note: 'random 4 KiB writes, performance mode; the log device flush takes 5 × its write latency',
      },
    ],
    logFlushPerWriteLatency: 5,
  };
}

/** Fixed latencies with the given write ticks and flush = write × factor (reads as in performance mode). */
export function logLatencyFor(
  writeTicks: number,
  flushPerWrite: number,
  base: DeviceLatency,
): DeviceLatency {
  return {
    read: base.read,
    write: { kind: 'fixed', ticks: writeTicks },
    flush: { kind: 'fixed', ticks: writeTicks * flushPerWrite },
  };
}

/** The options of one case of the main table. */
export function caseOptions(
  plan: BenchPlan,
  log: string,
  workload: BenchWorkload,
  ops: number,
): BenchCaseOptions {
  return {
    ...plan.base,
    logType: log,
    workload: workload.spec,
    blockSizeSectors: workload.blockSizeSectors,
    ops,
  };
}

/** The fixed crash point: once half the writes of the performance run were acknowledged. */
export function crashPoint(performance: BenchPerformance): number {
  return Math.ceil(performance.userWrites / 2);
}
