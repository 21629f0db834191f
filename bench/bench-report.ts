/**
 * The shape of a benchmark report: what `--json FILE` writes and what the
 * terminal tables and charts are drawn from. Simulated figures are
 * deterministic for a seed; wall figures (`wall…`, `rawCopy…`) are medians
 * of timed repetitions and depend on the machine and its load.
 */

/** The raw-copy baseline of one workload, measured in the same process. */
export interface BenchBaseline {
  readonly workload: string;
  /** User requests per wall second copying the same writes into two SparseStores (median). */
  readonly rawCopyWallOpsPerSec: number;
  readonly rawCopyWallOpsPerSecSamples: readonly number[];
}

/** One log type on one workload: the figures of the issue, and a few more. */
export interface BenchRun {
  readonly log: string;
  readonly workload: string;
  readonly table: string;
  readonly ops: number;
  readonly blockSizeBytes: number;
  readonly userRequests: number;
  readonly userWrites: number;
  readonly userReads: number;
  readonly userFlushes: number;
  readonly workloadTicks: number;
  readonly simulatedIops: number;
  /** This log's simulated IOPS over core's on the same workload (null without a core run). */
  readonly ratioToCore: number | null;
  readonly latencyTicksMean: number;
  readonly latencyTicksP50: number;
  readonly latencyTicksP99: number;
  readonly logWritesPerWrite: number;
  readonly logBytesPerWrite: number;
  readonly logFlushesPerWrite: number;
  readonly legFlushesPerWrite: number;
  /** Round trips to a userspace log daemon per user write (null for logs without one). */
  readonly daemonRoundTripsPerWrite: number | null;
  readonly crashAfterWrites: number;
  readonly dirtyRegionsAtCrash: number;
  readonly regionsResyncedAfterCrash: number;
  readonly bytesResyncedAfterCrash: number;
  readonly recoveryTicks: number;
  /** User requests per wall second of the workload phase (median of the repetitions). */
  readonly wallOpsPerSec: number;
  readonly wallOpsPerSecSamples: readonly number[];
  /** wallOpsPerSec over the same workload's raw-copy baseline. */
  readonly wallRatioToRawCopy: number;
  readonly baseline: BenchBaseline;
  /** The oracle's verdict on both runs (`ok` when every check passed). */
  readonly oracle: 'ok' | 'violated';
  readonly violations: readonly string[];
  /** Hash of the performance run's event trace, identical in every repetition. */
  readonly traceHash: string;
}

/** One point of a sweep. */
export interface BenchSweepPoint {
  readonly sweep: string;
  readonly parameter: string;
  readonly value: number;
  readonly log: string;
  readonly workload: string;
  readonly simulatedIops: number;
  readonly latencyTicksMean: number;
  readonly latencyTicksP99: number;
  readonly logWritesPerWrite: number;
  readonly logBytesPerWrite: number;
  readonly legFlushesPerWrite: number;
  readonly dirtyRegionsAtCrash: number;
  readonly regionsResyncedAfterCrash: number;
  readonly bytesResyncedAfterCrash: number;
  readonly recoveryTicks: number;
  readonly oracle: 'ok' | 'violated';
}

/** A sweep as planned. */
export interface BenchSweepPlan {
  readonly name: string;
  readonly parameter: string;
  readonly workload: string;
  readonly values: readonly number[];
  readonly note: string;
}

/** A log type left out, and why. */
export interface BenchSkip {
  readonly log: string;
  readonly reason: string;
}

/** A case that threw: a bug to look at, reported instead of ending the whole benchmark. */
export interface BenchFailure {
  readonly log: string;
  readonly workload: string;
  readonly error: string;
}

/** The settings every case shares, as stated in the output. */
export interface BenchSettings {
  readonly seed: number;
  readonly faults: 'off';
  readonly writeCache: boolean;
  readonly tickMicroseconds: 1;
  readonly legLatencyTicks: {
    readonly read: number;
    readonly write: number;
    readonly flush: number;
  };
  readonly logLatencyTicks: {
    readonly read: number;
    readonly write: number;
    readonly flush: number;
  };
  readonly mirrorSizeBytes: number;
  readonly legs: number;
  readonly regionSizeSectors: number;
  readonly depth: number;
  readonly flushEveryWrites: number;
  readonly ops: number;
  readonly repetitions: number;
  readonly sweepOps: number;
  readonly crash: string;
}

/** The whole benchmark: settings, definitions, runs, baselines and sweeps (the `--json` file). */
export interface BenchReport {
  readonly tool: 'mirrorsim bench';
  readonly mode: 'quick' | 'full';
  readonly settings: BenchSettings;
  /** What each figure means, in words (also printed above the tables). */
  readonly definitions: Readonly<Record<string, string>>;
  readonly workloads: readonly { readonly name: string; readonly description: string }[];
  readonly logTypes: readonly string[];
  readonly skipped: readonly BenchSkip[];
  readonly failures: readonly BenchFailure[];
  readonly runs: readonly BenchRun[];
  readonly baselines: readonly BenchBaseline[];
  /** What each sweep varies, over which workload, and what differs from the main table. */
  readonly sweepPlans: readonly BenchSweepPlan[];
  readonly sweeps: readonly BenchSweepPoint[];
  /** The core log's wallRatioToRawCopy on the write-only generated workloads. */
  readonly coreWritePathRatio: number | null;
  /** Wall seconds of the whole benchmark. */
  readonly wallSeconds: number;
  /** Where it ran: filled in by the CLI (node, CPU, load average, date). */
  readonly machine: Readonly<Record<string, string | number>>;
}

/** The definitions stated in the output and in bench/RESULTS.md, for the cache setting used. */
export function benchDefinitions(writeCache: boolean): Readonly<Record<string, string>> {
  return { performanceMode: performanceModeDefinition(writeCache), ...BENCH_DEFINITIONS };
}

function performanceModeDefinition(writeCache: boolean): string {
  const cache = writeCache
    ? 'volatile write caches on every device (a write is durable after a later flush, or with FUA)'
    : 'no volatile write caches (a completed write is durable; flushes and FUA still take their latency)';
  return `faults off, ${cache}, fixed latencies, one seed; 1 tick = 1 µs`;
}

const BENCH_DEFINITIONS: Readonly<Record<string, string>> = {
  simulatedIops:
    'user reads, writes and discards completed / simulated seconds of the workload phase',
  latencyTicks:
    'issue → acknowledgement of each user write, in ticks (mean, p50, p99 nearest rank)',
  logWritesPerWrite: 'write requests received by the log device(s) / user writes',
  daemonRoundTripsPerWrite:
    'requests the kernel sent a userspace log daemon, resends included / user writes (userspace logs only)',
  logBytesPerWrite: 'bytes written to the log device(s) / user writes',
  logFlushesPerWrite: 'flushes received by the log device(s) / user writes',
  legFlushesPerWrite: 'flushes received by the legs, summed over legs / user writes',
  crash:
    'a second run of the same case crashes once half its user writes were acknowledged, every device keeping none of its not-yet-durable writes (strategy none); a fresh stack then resumes from the same table and recovers',
  resync:
    'regions and bytes recovery copied after the crash; recovery ticks run from the resume to the end of recovery',
  wallOpsPerSec:
    'user requests / wall seconds of the workload phase (setup and verification excluded), median of the repetitions after a warm-up',
  rawCopyWallOpsPerSec:
    'the same requests with the same stamped data copied straight into two SparseStores (reads read one, discards zero both), in the same process, median of the repetitions',
  ratioToCore: "a log's simulated IOPS / the core log's on the same workload",
  wallRatioToRawCopy: 'wallOpsPerSec / rawCopyWallOpsPerSec of the same workload',
  oracle:
    'ok when both runs passed verification: legs identical, every durable write reads back, every other sector old or new',
};
