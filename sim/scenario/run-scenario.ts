/**
 * One `mirrorsim run` scenario: build the stack, wait for its initial sync,
 * run a workload, optionally crash at a chosen event, reboot a fresh stack
 * from the same table over the surviving images, let recovery finish, and
 * verify: legs byte-identical, every durable write reads back, every other
 * sector old-or-new.
 */
import type { CrashStrategy } from '../../src/block/crash-state.js';
import type { DeviceLatency } from '../../src/block/latency.js';
import { SECTOR_SIZE_BYTES } from '../../src/block/sector.js';
import type { SimulatedDevice } from '../../src/block/simulated-device.js';
import { findDirtyLogType, splitLogVariant } from '../../src/log/registry.js';
import type { UlogChannel } from '../../src/log/userspace/ulog-channel.js';
import { UserspaceLog } from '../../src/log/userspace/userspace-log.js';
import type { MirrorSet } from '../../src/mirror/mirror-set.js';
import { TableError } from '../../src/table/table-error.js';
import { MirrorChecker } from '../check/mirror-checker.js';
import { WorkloadDriver } from '../driver/workload-driver.js';
import {
  type CrashExpectation,
  crashExpectation,
  type Hazard,
  type ViolationKind,
} from '../fuzz/fault-budget.js';
import { type FeatureSet, FUZZ_LOG_TYPES, type FuzzLogType } from '../fuzz/mirror-profile.js';
import { MirrorStack } from '../mirror-stack.js';
import { type SectorViolation, WriteHistory } from '../oracle/write-history.js';
import { createWorkload } from '../workload/workload.js';
import { World } from '../world.js';
import { crashRebootResume, settle } from './crash-flow.js';

/**
 * When the run crashes: never, at a point the seed picks, after that many
 * simulation events, or once that many user writes were acknowledged (a
 * point that means the same for every log type, which the benchmark needs).
 */
export type CrashWhen =
  | { readonly kind: 'never' }
  | { readonly kind: 'random' }
  | { readonly kind: 'at'; readonly event: number }
  | { readonly kind: 'afterWrites'; readonly writes: number };

export interface RunScenarioOptions {
  readonly seed: number;
  /** A full table line; when absent one is built from the fields below. */
  readonly table?: string;
  readonly logType: string;
  readonly legCount: number;
  readonly regionSizeSectors: number;
  readonly sizeSectors: number;
  readonly workload: string;
  readonly ops: number;
  readonly depth: number;
  readonly blockSizeSectors: number;
  readonly crash: CrashWhen;
  readonly crashState: CrashStrategy;
  /** fio's fsync=N: a flush after every N writes (0 never). */
  readonly flushEveryWrites: number;
  readonly legLatency: Partial<DeviceLatency>;
  readonly logLatency: Partial<DeviceLatency>;
  readonly writeCache: boolean;
  /** Called with every device as the crash left it, before reboot. */
  readonly onCrashImages?: (devices: readonly SimulatedDevice[]) => void;
  /** Called with every device after recovery and a clean suspend. */
  readonly onRecoveredImages?: (devices: readonly SimulatedDevice[]) => void;
  /** Called once the stack is in sync and idle, just before the workload starts (not timed by the run). */
  readonly onWorkloadStart?: (stack: MirrorStack) => void;
  /** Called when the workload is done, or at the crash point before the crash. */
  readonly onWorkloadEnd?: (stack: MirrorStack, driver: WorkloadDriver) => void;
  /** A channel to a real log daemon for `userspace` logs (`--log-daemon`); in-process when absent. */
  readonly userspaceChannel?: UlogChannel;
  /**
   * Beyond Linux: recover runs of regions unwritten on every leg at once
   * (src/mirror/sparse-resync.ts), so a big mirror's first sync costs what
   * was written. Default false: every region is copied, as Linux does.
   */
  readonly sparseResync?: boolean;
  /**
   * Told where a long run is: once as each phase starts (`done` 0), then
   * every {@link PROGRESS_EVENTS} simulation events or 1 % of the phase. Deterministic; the
   * caller decides what to show and when (sim/ never reads a clock).
   */
  readonly onProgress?: (progress: RunProgress) => void;
}

/** The phases of a run that can take long, and how far each is. */
export interface RunProgress {
  /** The first activation's resync, the workload, or the recovery after the crash. */
  readonly phase: 'initial-sync' | 'workload' | 'recovery';
  /** Regions resynced, or requests issued. */
  readonly done: number;
  /** Regions to resync, or requests to issue. */
  readonly total: number;
}

/** Simulation events between two progress reports. */
export const PROGRESS_EVENTS = 4096;

/**
 * A `crash: at:EVENT` outside the workload: before its first event (the
 * initial sync runs the events before it) or after its last.
 */
export class CrashPointError extends RangeError {
  override name = 'CrashPointError';
}

export interface RunResult {
  readonly seed: number;
  readonly table: string;
  readonly logType: string;
  readonly regions: number;
  readonly ops: number;
  readonly writesAcknowledged: number;
  readonly crashed: boolean;
  readonly crashEvent: number | null;
  readonly crashStateId: string | null;
  /** Regions the log had out of sync when the rebooted stack resumed. */
  readonly dirtyRegionsAtCrash: number;
  readonly regionsResynced: number;
  readonly bytesResynced: number;
  readonly recoveryTicks: number;
  readonly legsIdentical: boolean;
  readonly oracle: 'ok' | 'violated';
  /**
   * When every violation is one Linux itself allows after a crash (a nosync
   * table, a userspace log over cached legs), the documented behaviour that
   * explains them; the violations are still listed, and `oracle` is `ok`.
   */
  readonly expected: string | null;
  readonly violations: string[];
  readonly statusInfoBefore: string;
  readonly statusInfo: string;
  readonly statusTable: string;
  /** One character per cell of regions: `#` resynced after the crash, `.` not. */
  readonly regionMap: string;
  readonly traceHash: string;
  readonly simulatedTicks: number;
  readonly events: number;
  /**
   * Times a `userspace` log reconnected to its daemon (CTR and RESUME after
   * `-ESRCH`, userspace §2.7) before the crash: a real daemon was killed
   * and restarted. Without `integrated_flush` that may lose marks (§2.2).
   */
  readonly logDaemonReconnects: number;
  /** Hazards of the fault budget in effect at the crash (`marks-lost`), which widen what it may break. */
  readonly hazards: readonly Hazard[];
}

/** The table `--log/--legs/--region-size/--size` describe. */
export function buildTable(options: {
  readonly logType: string;
  readonly legCount: number;
  readonly regionSizeSectors: number;
  readonly sizeSectors: number;
}): string {
  const { type: typeName, variant } = splitLogVariant(options.logType);
  const type = findDirtyLogType(typeName);
  if (type === undefined || type.defaultTableArgs === undefined) {
    throw new TableError(
      `Log type "${options.logType}" cannot be built from --log; give a --table`,
    );
  }
  const variants = type.tableVariants ?? [];
  if (variant !== undefined && !variants.includes(variant)) {
    throw new TableError(
      `Log type "${typeName}" has no variant "${variant}": expected one of ${variants.join(', ') || 'none'}`,
    );
  }
  const logArgs = type.defaultTableArgs({
    regionSizeSectors: options.regionSizeSectors,
    logDeviceName: 'log0',
    ...(variant === undefined ? {} : { variant }),
  });
  const legs = Array.from({ length: options.legCount }, (_, index) => `leg${index} 0`).join(' ');
  return `0 ${options.sizeSectors} mirror ${typeName} ${logArgs.length} ${logArgs.join(' ')} ${options.legCount} ${legs}`;
}

const VIOLATIONS_SHOWN_MAX = 20;
const REGION_MAP_CELLS = 64;

export function runScenario(options: RunScenarioOptions): RunResult {
  const table = options.table ?? buildTable(options);
  const world = new World({ seed: options.seed });
  const history = new WriteHistory();
  const deviceDefaults = { writeCache: options.writeCache };
  const stackOptions = {
    world,
    table,
    legDefaults: { ...deviceDefaults, latency: options.legLatency },
    logDeviceDefaults: { ...deviceDefaults, latency: options.logLatency },
    ...(options.userspaceChannel === undefined
      ? {}
      : { userspaceChannel: options.userspaceChannel }),
    ...(options.sparseResync === undefined ? {} : { sparseResync: options.sparseResync }),
  };
  const stack = new MirrorStack(stackOptions);
  // The workload (a fio trace is read now) is built before the initial sync, so a bad one fails at once.
  const workload = createWorkload(options.workload, {
    deviceSizeSectors: stack.table.lengthSectors,
    blockSizeSectors: options.blockSizeSectors,
    ops: options.ops,
    random: world.random.stream('workload'),
  });
  const checker = new MirrorChecker({ world, stack });
  stack.activate();
  settleReporting(
    world,
    stack.mirror,
    { phase: 'initial-sync', total: initialSyncRegions(stack) },
    options.onProgress,
  );
  const driver = new WorkloadDriver({
    scheduler: world.scheduler,
    device: stack.device,
    workload,
    depth: options.depth,
    history,
    flushEveryWrites: options.flushEveryWrites,
  });
  const crashReached = chooseCrashPoint(options, world, driver);
  options.onWorkloadStart?.(stack);
  driver.start();
  const workloadDone = reporting(options.onProgress, {
    phase: 'workload',
    total: options.ops,
    done: () => driver.stats.issued,
    finished: () => driver.done,
  });
  if (crashReached === null) {
    world.scheduler.runUntil(workloadDone);
    options.onWorkloadEnd?.(stack, driver);
    return finish({ options, table, world, stack, history, driver, checker, crashed: false });
  }
  world.scheduler.runUntil(() => workloadDone() || crashReached());
  if (options.crash.kind === 'at' && !crashReached()) {
    throw new CrashPointError(
      `crash event ${options.crash.event} comes after the workload, which ended at event ${world.scheduler.steps}: expected an event of the workload, ${world.scheduler.steps} or less`,
    );
  }
  options.onWorkloadEnd?.(stack, driver);
  const logDaemonReconnects = reconnectsOf(stack);
  const statusInfoBefore = stack.status('info');
  driver.stop();
  const after = crashRebootResume({
    world,
    stack,
    checker,
    history,
    strategy: options.crashState,
    ...(options.onCrashImages === undefined ? {} : { onCrashImages: options.onCrashImages }),
  });
  const rebooted = after.stack;
  const resyncedCells = new RegionMapCells(rebooted.mirror.regionCount);
  const recoveryStartTicks = world.scheduler.now();
  const mirror = rebooted.mirror;
  mirror.onRegionRecovered = (region) => resyncedCells.mark(region);
  mirror.onRegionsRecovered = (first, count) => resyncedCells.markRun(first, count);
  settleReporting(
    world,
    mirror,
    { phase: 'recovery', total: mirror.regionCount - after.syncCountAtResume },
    options.onProgress,
  );
  return finish({
    options,
    table,
    world,
    stack: rebooted,
    history,
    driver,
    checker,
    crashed: true,
    crashEvent: after.crash.atStep,
    crashStateId: after.crash.stateId,
    statusInfoBefore,
    dirtyRegionsAtCrash: mirror.regionCount - after.syncCountAtResume,
    recoveryTicks: world.scheduler.now() - recoveryStartTicks,
    resyncedCells,
    logDaemonReconnects,
  });
}

/**
 * The fault budget's hazards in effect at a crash of `stack`: `marks-lost`
 * once a `userspace` log without integrated_flush reconnected to a
 * restarted daemon, which may have died between a MARK and its FLUSH.
 */
function crashHazards(stack: MirrorStack, logDaemonReconnects: number): Hazard[] {
  const integratedFlush = stack.table.args.includes('integrated_flush');
  return logDaemonReconnects > 0 && !integratedFlush ? ['marks-lost'] : [];
}

/** Reconnects of the stack's userspace log to its daemon so far (0 for other logs). */
function reconnectsOf(stack: MirrorStack): number {
  const log = stack.mirror.log;
  return log instanceof UserspaceLog ? log.stats.reconnects : 0;
}

/**
 * Runs until the mirror is in sync and idle (see {@link settle}), telling
 * `onProgress` how many of the `total` regions out of sync at the start
 * have been resynced. Only counters are read, never the log (a log call
 * could be a daemon round trip, which would change the trace).
 */
function settleReporting(
  world: World,
  mirror: MirrorSet,
  progress: { readonly phase: RunProgress['phase']; readonly total: number },
  onProgress: RunScenarioOptions['onProgress'],
): void {
  const { phase, total } = progress;
  if (onProgress === undefined) {
    settle(world, mirror);
    return;
  }
  const recoveredBefore = mirror.stats.regionsRecovered;
  const inSync = reporting(onProgress, {
    phase,
    total,
    done: () => mirror.stats.regionsRecovered - recoveredBefore,
    finished: () => mirror.inSync && mirror.idle,
  });
  // settle's own steps, with a predicate that also reports.
  world.scheduler.runUntil(inSync, { stepsMax: Number.MAX_SAFE_INTEGER });
  world.scheduler.runUntilIdle({ stepsMax: Number.MAX_SAFE_INTEGER });
}

/**
 * `finished` as a scheduler predicate that also reports progress: when
 * first called, then every {@link PROGRESS_EVENTS} calls (the scheduler
 * calls it before every event) or 1 % of the total done, whichever comes
 * first. Reporting reads counters only.
 */
function reporting(
  onProgress: RunScenarioOptions['onProgress'],
  progress: {
    readonly phase: RunProgress['phase'];
    readonly total: number;
    readonly done: () => number;
    readonly finished: () => boolean;
  },
): () => boolean {
  let calls = 0;
  let reportedDone = -1;
  // A sparse resync recovers many regions in few events: a 1 % step reports too.
  const step = Math.max(1, Math.floor(progress.total / 100));
  return () => {
    if (onProgress !== undefined) {
      const done = Math.min(progress.done(), progress.total);
      if (calls++ % PROGRESS_EVENTS === 0 || done - reportedDone >= step) {
        reportedDone = done;
        onProgress({ phase: progress.phase, done, total: progress.total });
      }
    }
    return progress.finished();
  };
}

/**
 * Regions the first activation resyncs: every one, since a run's devices
 * start empty (a new disk log, a core log), unless the table says
 * `nosync`. A real log daemon may already know the log and need less.
 */
export function initialSyncRegions(stack: MirrorStack): number {
  const [, logArgCount = '0', ...rest] = stack.table.args;
  return rest.slice(0, Number(logArgCount)).includes('nosync') ? 0 : stack.mirror.regionCount;
}

/** The crash point as a predicate checked before every event, or null for no crash. */
function chooseCrashPoint(
  options: RunScenarioOptions,
  world: World,
  driver: WorkloadDriver,
): (() => boolean) | null {
  const crash = options.crash;
  switch (crash.kind) {
    case 'never':
      return null;
    case 'at':
      if (crash.event < world.scheduler.steps) {
        // The workload starts after the initial sync: an earlier event would silently move here.
        throw new CrashPointError(
          `crash event ${crash.event} comes before the workload, which starts at event ${world.scheduler.steps} (the initial sync runs the events before it): expected an event from ${world.scheduler.steps}`,
        );
      }
      return () => world.scheduler.steps >= crash.event;
    case 'afterWrites':
      return () => driver.stats.writesAcknowledged >= crash.writes;
    case 'random': {
      // A point inside the workload: once the seed-chosen request has been issued.
      const requests = world.random.stream('crash.point').nextInt(1, Math.max(1, options.ops - 1));
      return () => driver.stats.issued >= requests;
    }
  }
}

interface FinishInput {
  readonly options: RunScenarioOptions;
  readonly table: string;
  readonly world: World;
  readonly stack: MirrorStack;
  readonly history: WriteHistory;
  readonly driver: WorkloadDriver;
  readonly checker: MirrorChecker;
  readonly crashed: boolean;
  readonly crashEvent?: number;
  readonly crashStateId?: string;
  readonly statusInfoBefore?: string;
  readonly dirtyRegionsAtCrash?: number;
  readonly recoveryTicks?: number;
  readonly resyncedCells?: RegionMapCells;
  /** Reconnects of a userspace log before the crash (the crashed stack's). */
  readonly logDaemonReconnects?: number;
}

function finish(input: FinishInput): RunResult {
  const { options, world, stack, history, driver } = input;
  const mirror = stack.mirror;
  const statusInfo = stack.status('info');
  const statusTable = stack.status('table');
  input.checker.checkQuiescent();
  const legsIdentical = compareLegs(mirror);
  const violations = verifyContent(mirror, history).concat(driver.readViolations);
  const shown = violations
    .slice(0, VIOLATIONS_SHOWN_MAX)
    .map(
      (violation) =>
        `sector ${violation.sector}: read ${violation.found}, expected ${violation.expected}`,
    );
  if (violations.length > VIOLATIONS_SHOWN_MAX)
    shown.push(`… and ${violations.length - VIOLATIONS_SHOWN_MAX} more`);
  for (const violation of input.checker.violations) {
    shown.unshift(
      `invariant ${violation.invariant} at event ${violation.step}: ${violation.message}`,
    );
  }
  if (!legsIdentical) shown.unshift('legs differ after recovery');
  const kinds = new Set<ViolationKind>(input.checker.violations.map((found) => found.invariant));
  if (violations.length > 0) kinds.add('register');
  if (!legsIdentical) kinds.add('legs-differ');
  const logDaemonReconnects = input.crashed
    ? (input.logDaemonReconnects ?? 0)
    : reconnectsOf(stack);
  const crashExpected = input.crashed
    ? runCrashExpectation(stack, options.writeCache, logDaemonReconnects)
    : null;
  const expectation = withReconnects(
    crashExpected,
    input.crashed ? reconnectsOf(stack) : logDaemonReconnects,
  );
  const explained = expectation !== null && [...kinds].every((kind) => allows(expectation, kind));
  stack.suspend();
  options.onRecoveredImages?.(world.devices);
  return {
    seed: options.seed,
    table: input.table,
    logType: mirror.log.typeName,
    regions: mirror.regionCount,
    ops: options.ops,
    writesAcknowledged: driver.stats.writesAcknowledged,
    crashed: input.crashed,
    crashEvent: input.crashEvent ?? null,
    crashStateId: input.crashStateId ?? null,
    dirtyRegionsAtCrash: input.dirtyRegionsAtCrash ?? 0,
    regionsResynced: input.crashed ? mirror.stats.regionsRecovered : 0,
    bytesResynced: input.crashed ? mirror.stats.sectorsResynced * SECTOR_SIZE_BYTES : 0,
    recoveryTicks: input.recoveryTicks ?? 0,
    legsIdentical,
    oracle: kinds.size === 0 || explained ? 'ok' : 'violated',
    expected: kinds.size > 0 && explained ? expectation.fact : null,
    violations: shown,
    statusInfoBefore: input.statusInfoBefore ?? statusInfo,
    statusInfo,
    statusTable,
    regionMap: (input.resyncedCells ?? new RegionMapCells(mirror.regionCount)).text(),
    traceHash: world.scheduler.traceHash(),
    simulatedTicks: world.scheduler.now(),
    events: world.scheduler.steps,
    logDaemonReconnects,
    hazards: input.crashed ? crashHazards(stack, logDaemonReconnects) : [],
  };
}

/**
 * What Linux promises after a crash of this stack, from the fault budget's
 * one table of expectations (no fault was injected; the log device read
 * fine at the reboot). Null for a log type the table does not describe.
 */
export function runCrashExpectation(
  stack: MirrorStack,
  writeCache: boolean,
  logDaemonReconnects: number,
): CrashExpectation | null {
  const logType = stack.mirror.log.typeName;
  if (!(FUZZ_LOG_TYPES as readonly string[]).includes(logType)) return null;
  const [, logArgCount = '0', ...rest] = stack.table.args;
  const logArgs = rest.slice(0, Number(logArgCount));
  const features = stack.mirror.features;
  const featureSet: FeatureSet = features.keepLog
    ? 'keep_log'
    : features.handleErrors
      ? 'handle_errors'
      : 'none';
  const profile = {
    logType: logType as FuzzLogType,
    legCount: stack.mirror.legs.length,
    tableMode: logArgs.includes('nosync')
      ? 'nosync'
      : logArgs.includes('sync')
        ? 'sync'
        : 'default',
    features: featureSet,
    writeCache,
    integratedFlush: logArgs.includes('integrated_flush'),
  } as const;
  // A daemon restart without integrated_flush may have lost marks the kernel still counts on
  // (userspace §2.2, §2.7; the fault budget's marks-lost hazard), so a crash after it may
  // leave a region clean whose legs differ: documented behaviour, not a simulator bug.
  return crashExpectation(profile, {
    mode: profile.tableMode,
    hazards: new Set<Hazard>(crashHazards(stack, logDaemonReconnects)),
    logReadable: true,
  });
}

/**
 * Why legs may differ, crash or not, once a `userspace` log reconnected to
 * a restarted daemon: the kernel (dm-log-userspace-base.c) resets
 * `in_sync_hint` only in `userspace_resume`, and the reconnect path sends
 * CTR and RESUME itself, so after a reconnect the hint still says "all in
 * sync" and `get_resync_work` never asks the daemon again. Regions the new
 * daemon reports out of sync (those dirty on its log device) then stay out
 * of sync until the next resume, and writes to them reach the default leg
 * only. Linux's behaviour, reproduced; not a simulator bug.
 */
export const DAEMON_RECONNECT_FACT =
  'userspace §2.5 §2.7: after the log daemon restarted, the kernel reconnected (CTR, RESUME) but kept in_sync_hint, which only userspace_resume resets, so it asks for no resync work until the next resume: regions the new daemon reports out of sync stay so, and writes to them reach the default leg only';

/**
 * The expectation after `reconnects` reconnects of the final stack's
 * userspace log: legs may differ (see {@link DAEMON_RECONNECT_FACT}), on top
 * of what a crash allows.
 */
function withReconnects(
  crashExpected: CrashExpectation | null,
  reconnects: number,
): CrashExpectation | null {
  if (reconnects === 0) return crashExpected;
  const allowed: ViolationKind[] = ['legs-differ', ...(crashExpected?.allowed ?? [])];
  return {
    within: false,
    resync: crashExpected?.resync ?? 'none',
    legsMayDiffer: crashExpected?.legsMayDiffer ?? false,
    fact:
      crashExpected === null || crashExpected.within
        ? DAEMON_RECONNECT_FACT
        : `${crashExpected.fact}; and ${DAEMON_RECONNECT_FACT}`,
    allowed,
  };
}

/** Whether a documented crash outcome explains a violation of this kind. */
export function allows(expectation: CrashExpectation, kind: ViolationKind): boolean {
  if (expectation.allowed.includes(kind)) return true;
  return expectation.legsMayDiffer && (kind === 'legs-differ' || kind === 'legs-differ-in-sync');
}

/** Legs byte-identical over the target, visiting only what was written on either. */
export function compareLegs(mirror: MirrorSet): boolean {
  const first = mirror.legs[0]!;
  return mirror.legs.slice(1).every((leg) => {
    const left = (first.device as SimulatedDevice).content;
    const right = (leg.device as SimulatedDevice).content;
    return (
      left.firstDifference(right, {
        sector: first.offsetSectors,
        otherSector: leg.offsetSectors,
        sectorCount: mirror.lengthSectors,
      }) < 0
    );
  });
}

/** Checks every sector the history tracks against the default leg, and that nothing else was written. */
function verifyContent(mirror: MirrorSet, history: WriteHistory): SectorViolation[] {
  const leg = mirror.defaultLeg;
  const content = (leg.device as SimulatedDevice).content;
  const violations: SectorViolation[] = [];
  const tracked = new Set<number>();
  for (const sector of history.trackedSectors()) {
    tracked.add(sector);
    const bytes = content.read(leg.offsetSectors + sector, 1);
    const violation = history.checkAfterCrash(sector, bytes);
    if (violation !== null) violations.push(violation);
  }
  // Sectors never written must read as zeros.
  for (const chunkIndex of content.chunkIndicesIn(leg.offsetSectors, mirror.lengthSectors)) {
    const chunkData = content.chunkAt(chunkIndex)!;
    for (let index = 0; index < chunkData.length / SECTOR_SIZE_BYTES; index++) {
      const sector =
        chunkIndex * (chunkData.length / SECTOR_SIZE_BYTES) + index - leg.offsetSectors;
      if (sector < 0 || sector >= mirror.lengthSectors || tracked.has(sector)) continue;
      const bytes = chunkData.subarray(index * SECTOR_SIZE_BYTES, (index + 1) * SECTOR_SIZE_BYTES);
      if (bytes.some((byte) => byte !== 0)) {
        violations.push({ sector, found: 'non-zero data', expected: 'zero (never written)' });
      }
    }
  }
  return violations;
}

/**
 * The region map's cells, marked as regions are resynced: memory for the
 * cells only, so a mirror of 2^31 regions that resyncs them all costs no
 * more than a small one.
 */
class RegionMapCells {
  private readonly marks: boolean[];

  constructor(private readonly regionCount: number) {
    this.marks = new Array<boolean>(Math.min(REGION_MAP_CELLS, regionCount)).fill(false);
  }

  /** Marks the cell that holds `region`. */
  mark(region: number): void {
    this.marks[Math.floor((region * this.marks.length) / this.regionCount)] = true;
  }

  /** Marks the cells that hold any of `[first, first + count)`. */
  markRun(first: number, count: number): void {
    const last = first + count - 1;
    const from = Math.floor((first * this.marks.length) / this.regionCount);
    const to = Math.floor((last * this.marks.length) / this.regionCount);
    for (let cell = from; cell <= to; cell++) this.marks[cell] = true;
  }

  /** `#` for each cell with a resynced region, `.` for the others. */
  text(): string {
    return this.marks.map((mark) => (mark ? '#' : '.')).join('');
  }
}
