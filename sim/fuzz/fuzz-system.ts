/**
 * The system under test of the crash-consistency commands: one simulated
 * machine with a mirror stack, the register oracle, the white-box checker,
 * the incremental content verifier and the fault reports, plus the fault
 * budget that decides which faults a run may inject and which violations a
 * beyond-budget fault explains.
 *
 * Every command ends with {@link FuzzSystem.afterCommand}: the continuous
 * invariants (checked as requests reached devices), the quiescent ones
 * (sync count, the components' own assertions, legs differ ⇒ out of sync)
 * and the fault reports. A crash runs the whole crash → reboot → resume →
 * invariant 3 → pin the oracle flow; {@link FuzzSystem.recover} waits for
 * recovery and verifies what changed; {@link FuzzSystem.finish} heals every
 * fault, reloads the table when the mirror needs one (as dmeventd would),
 * requires convergence within a bound (liveness) and verifies everything.
 */
import type { CrashStrategy } from '../../src/block/crash-state.js';
import { SECTOR_SIZE_BYTES } from '../../src/block/sector.js';
import { EWOULDBLOCK } from '../../src/errno.js';
import {
  coveredRegionCount,
  decodeLogHeader,
  isCompatibleLogVersion,
  LOG_OFFSET_BYTES,
  MIRROR_MAGIC,
} from '../../src/log/disk-log-format.js';
import type { MirrorSet } from '../../src/mirror/mirror-set.js';
import { DM_RH_CLEAN, DM_RH_DIRTY } from '../../src/mirror/region-hash.js';
import { TableError } from '../../src/table/table-error.js';
import { ContentVerifier } from '../check/content-verifier.js';
import { logInSyncNow, MirrorChecker, regionDiffers } from '../check/mirror-checker.js';
import { RequestIssuer } from '../driver/request-issuer.js';
import type { DeviceDefaults } from '../mirror-stack.js';
import { MirrorStack } from '../mirror-stack.js';
import { WriteHistory } from '../oracle/write-history.js';
import { runTask } from '../run-task.js';
import { crashRebootResume } from '../scenario/crash-flow.js';
import { StepLimitError } from '../scheduler.js';
import { existingUlogMachine, ulogMachineOf } from '../userspace/ulog-machine.js';
import { World } from '../world.js';
import {
  crashExpectation,
  type FaultKind,
  faultExpectation,
  type Hazard,
  type LegRole,
  LINGERING_ONE_SHOT,
  reloadLeavesVolatileFirstLeg,
  STALE_LOG_FACT,
  type ViolationKind,
} from './fault-budget.js';
import { FaultReports } from './fault-reports.js';
import type { FuzzConfig } from './fuzz-config.js';
import { type ExpectedOutcome, FuzzFailure, type Violation } from './fuzz-failure.js';
import {
  FUZZ_LOG_DEVICE,
  FUZZ_USERSPACE_UUID,
  legNames,
  profileTable,
  type TableMode,
} from './mirror-profile.js';
import { reloadStack, resumeStack, suspendStack } from './table-operations.js';
import {
  describeRequest,
  type RequestSpec,
  type UserRequest,
  UserRequests,
} from './user-requests.js';

/** A bound on a run of the world: events, and simulated time (ticks). */
export interface RunBound {
  readonly stepsMax: number;
  readonly ticksMax: number;
}

/** A command that waits for its requests (40 s: past the userspace log's 15 s resend). */
export const WAIT_BOUND: RunBound = { stepsMax: 20_000, ticksMax: 40_000_000 };
/** `recover()`. */
export const RECOVERY_BOUND: RunBound = { stepsMax: 400_000, ticksMax: 60_000_000 };
/** The liveness phase before it decides the mirror needs a new table. */
export const HEAL_BOUND: RunBound = { stepsMax: 100_000, ticksMax: 20_000_000 };
/** The whole liveness phase, from the moment every fault healed (a new table included). */
export const LIVENESS_BOUND: RunBound = { stepsMax: 2_000_000, ticksMax: 120_000_000 };

/** Where a crash command stops the world. */
export type CrashPoint =
  | { readonly kind: 'now' }
  | { readonly kind: 'events'; readonly events: number }
  /** B3: right after the n-th flush or FUA write completes on any device. */
  | { readonly kind: 'persistence'; readonly count: number };

/** How a {@link FuzzSystem} is built. */
export interface FuzzSystemOptions {
  readonly config: FuzzConfig;
  /** Trace records kept for `mirrorsim replay` (0: none, the fastest). */
  readonly traceRecentCapacity?: number;
  /**
   * Called with the world as soon as it exists, before activation and the
   * initial resync, so a violation that fires while the system is being
   * built still leaves its trace to show.
   */
  readonly onWorld?: (world: World) => void;
}

const DIVERGED_FACT =
  '§2.5 §4.8: the legs already differ in a region the log calls in sync (a nosync activation, or a discard a crash half-applied); once the default leg fails, reads and resyncs come from a leg that never had the data';

const NOSYNC_FACT =
  '§2.5 §5.5: a nosync table ignores the on-disk state at every activation; nothing is resynced, so legs that differed stay different';
const NOSYNC_UNHEALTHY_FACT =
  '§2.5 §5.5 §4.3: a nosync activation over a failing leg: the log calls every region in sync while the region hash may still hold NOSYNC ones, so reads follow the log (the fast path) to a non-default leg that may lack writes, and no recovery ever comes for those regions until a new table';
const DAEMON_OUT_OF_STEP_FACT =
  'userspace §2.7 §4.2: a suspend while the kernel has not reconnected to a restarted daemon: PRESUSPEND (sent without the reconnect path) is lost, then the next data-path request reconnects with CTR and RESUME, so the daemon resumes its recovery bookkeeping while the kernel has stopped recovery; writes to regions it calls out of sync are requeued every 200 ms (is_remote_recovering) and the suspend never completes';
const DISCARD_RACE_FACT =
  '§4.8: a discard is not region-tracked (no mark, no pending count), so one issued while its region is out of sync can race the resync copy and leave the legs different in a region recovery then calls in sync';
const DISCARD_CRASH_FACT =
  '§4.8: a crash in the middle of a discard can leave the legs different in its range, and the log does not record it';
const DISCARD_ERROR_FACT =
  '§4.4: a discard that fails on a leg is answered NOTSUPP without degrading the array, so the legs may differ in its range while the region stays in sync';

const DIVERGED_ALLOWED: readonly ViolationKind[] = [
  'register',
  'read-stability',
  'legs-differ',
  'legs-differ-in-sync',
];

/** A beyond-budget fault (or crash) that fired: what it may break, and why. */
interface Fired {
  readonly fact: string;
  readonly allowed: readonly ViolationKind[];
}

/** The system under test of the crash-consistency commands (see the file comment). */
export class FuzzSystem {
  readonly config: FuzzConfig;
  readonly world: World;
  readonly history = new WriteHistory();
  /** One line per thing that happened, for replay output. */
  readonly journal: string[] = [];
  /** Violations a beyond-budget fault or a table mode explains. */
  readonly expected: ExpectedOutcome[] = [];
  stack: MirrorStack;
  /** Why the scenario cannot go on (a documented Linux hang was reached); null while it can. */
  stopped: string | null = null;
  private checker: MirrorChecker;
  private checkerSeen = 0;
  private readonly verifier: ContentVerifier;
  private readonly reports: FaultReports;
  private readonly issuer: RequestIssuer;
  private readonly requests: UserRequests;
  private tableOrder: string[];
  private tableMode: TableMode;
  private readonly hazards = new Set<Hazard>();
  private readonly fired: Fired[] = [];
  /** Regions whose legs may legitimately differ (nosync activations, half-applied discards). */
  private readonly diverged = new Set<number>();
  private readonly failedLegs = new Set<string>();
  private logFailed = false;
  /** The last event of the stale-log window (§8(3)); -1 before any, Infinity while open. */
  private staleLogEndStep = -1;
  private faultsSinceCrash = 0;
  /** Faults injected since the last resume (a region failed behind the resync cursor waits for the next). */
  private faultsSinceResume = 0;
  private recovery: { readonly outOfSync: Set<number>; readonly recovered: Set<number> } | null =
    null;
  private readonly pendingViolations: Violation[] = [];
  /** Regions resynced since the last `recover()` reported them. */
  private readonly resynced = new Set<number>();
  /**
   * Regions whose legs may differ: every region a leg request reached, or a
   * crash may have changed, since its legs were last seen identical. Every
   * other region is identical on every leg, so checks that compare legs
   * look only here (a crash-recover-verify cycle costs what changed).
   */
  private readonly mayDiffer = new Set<number>();
  /**
   * Leg writes and discards submitted and not yet completed, per region. A
   * request a fault will fail is not a crash candidate, yet until it
   * completes the mirror has not answered it, so its region is not judged.
   */
  private readonly legRequestsOutstanding = new Map<number, number>();
  private readonly differsCache = new Map<number, boolean>();
  private differsVersion = -1;
  private outOfSyncCache:
    | { readonly version: number; readonly regions: Set<number> | null }
    | undefined;
  /** Table loads and resumes so far (they change sync state without an event of their own). */
  private tableChanges = 0;
  /** Crashes so far (a crash changes device content without running an event). */
  private crashCount = 0;

  constructor(options: FuzzSystemOptions) {
    const config = options.config;
    this.config = config;
    const profile = config.profile;
    this.world = new World({
      seed: config.worldSeed,
      traceRecentCapacity: options.traceRecentCapacity ?? 0,
    });
    options.onWorld?.(this.world);
    this.tableOrder = legNames(profile.legCount);
    this.tableMode = profile.tableMode;
    this.tableOrder.forEach((name, index) => {
      this.world.createDevice({
        name,
        sizeSectors: config.geometry.lengthSectors,
        latency: config.legLatencies[index]!,
        writeCache: profile.writeCache,
      });
    });
    if (profile.logType === 'userspace') {
      ulogMachineOf(this.world, { deviceDefaults: this.logDefaults() });
    }
    this.stack = this.buildStack(this.currentTable());
    this.checker = new MirrorChecker({ world: this.world, stack: this.stack });
    this.stack.activate();
    const mirror = this.stack.mirror;
    this.verifier = new ContentVerifier({
      regionSizeSectors: mirror.rh.regionSizeSectors,
      regionCount: mirror.regionCount,
      legs: mirror.legs.map((leg) => ({
        device: this.world.device(leg.name),
        offsetSectors: leg.offsetSectors,
      })),
    });
    this.watchLegWrites();
    this.reports = new FaultReports(this.world, () => this.stack, this.world.devices);
    this.watchLogWrites();
    this.issuer = new RequestIssuer({ device: this.stack.device, history: this.history });
    this.requests = new UserRequests(this.issuer, {
      onReadViolations: (request, violations) => {
        for (const violation of violations) {
          this.pendingViolations.push({
            kind: 'register',
            message: `${describeRequest(request)} returned ${violation.found} at sector ${violation.sector}, expected ${violation.expected}`,
            step: this.world.scheduler.steps,
          });
        }
      },
      onDone: (request) => {
        if (request.kind === 'discard' && request.error !== null) {
          this.divergeRange(request, DISCARD_ERROR_FACT);
        }
      },
    });
    this.note(`boot ${this.currentTable()}`);
    if (!this.settleMirror(LIVENESS_BOUND)) {
      this.report('liveness', 'the initial sync did not converge');
    }
    this.hookRecovery();
    this.afterCommand();
  }

  // ----- what the model reads ------------------------------------------------------

  get mirror(): MirrorSet {
    return this.stack.mirror;
  }

  /** The legs in the live table's order (the first is the table's default). */
  get legOrder(): readonly string[] {
    return this.tableOrder;
  }

  get regionCount(): number {
    return this.mirror.regionCount;
  }

  get lengthSectors(): number {
    return this.config.geometry.lengthSectors;
  }

  get outstandingRequests(): number {
    return this.requests.outstanding;
  }

  // ----- I/O ------------------------------------------------------------------------

  /** Submits a request; when `wait`, runs the world until it completes (bounded). */
  io(spec: RequestSpec, wait: boolean): UserRequest {
    if (spec.kind === 'discard' && !this.admitDiscard()) return skippedRequest(spec);
    const request = this.requests.submit(spec);
    if (wait) this.runUntil(() => request.state === 'done', WAIT_BOUND);
    return request;
  }

  /** Submits requests together (one batch, same tick), then waits for all of them. */
  batch(specs: readonly RequestSpec[]): UserRequest[] {
    const requests = specs.map((spec) =>
      spec.kind === 'discard' && !this.admitDiscard()
        ? skippedRequest(spec)
        : this.requests.submit(spec),
    );
    this.runUntil(() => requests.every((request) => request.state === 'done'), WAIT_BOUND);
    return requests;
  }

  /**
   * Two reads of one range, the second issued when the first completed,
   * with no write to it waiting or in flight: both must return the same
   * data (recovery must not change what a read sees). Returns the outcome.
   */
  readTwice(sector: number, sectorCount: number): string {
    if (this.requests.overlapsWrite(sector, sectorCount)) {
      this.io({ kind: 'read', sector, sectorCount, fua: false }, true);
      return 'a write to it is in flight: read once';
    }
    const spec: RequestSpec = { kind: 'read', sector, sectorCount, fua: false };
    const first = this.io(spec, true);
    const second = this.io(spec, true);
    if (first.state !== 'done' || second.state !== 'done') return 'a read did not complete';
    if (first.error !== null || second.error !== null) {
      return `errors: ${first.error ?? 'ok'}, ${second.error ?? 'ok'}`;
    }
    const differs = firstDifferentSector(first.data!, second.data!);
    if (differs >= 0) {
      this.report(
        'read-stability',
        `two reads of sector ${sector + differs} with no write between returned different data`,
      );
    }
    return 'same data';
  }

  /** Runs up to `events` simulation events (fewer if the world goes idle). */
  advance(events: number): number {
    let ran = 0;
    while (ran < events && this.world.scheduler.step()) ran++;
    return ran;
  }

  // ----- crash and recovery ------------------------------------------------------------

  /** Crash at `point`, each device keeping `strategyOf(name)`; reboot, resume, check, pin. */
  crash(point: CrashPoint, strategyOf: (deviceName: string) => CrashStrategy): string {
    const expectation = crashExpectation(this.config.profile, {
      mode: this.tableMode,
      hazards: this.hazards,
      logReadable: !this.logFailed,
    });
    if (!expectation.within) {
      if (this.config.budget === 'within') return `skipped: ${expectation.fact}`;
      this.fire({ fact: expectation.fact, allowed: expectation.allowed });
    }
    const mayDiverge =
      this.tableMode === 'nosync' ||
      this.history.nonDurableDiscards().length > 0 ||
      this.requests.outstandingDiscards > 0;
    if (mayDiverge && this.legsUnhealthy()) {
      if (this.config.budget === 'within') return `skipped: ${DIVERGED_FACT}`;
      this.fire({ fact: DIVERGED_FACT, allowed: DIVERGED_ALLOWED });
    }
    const reached = this.runToCrashPoint(point);
    this.afterCommand();
    this.verifier.noteCrash();
    this.noteCrashCandidates();
    this.crashCount++;
    // The crash dropped every leg request in flight: none of them will complete.
    this.legRequestsOutstanding.clear();
    this.resynced.clear();
    this.hazards.clear();
    this.noteResume();
    let image: Uint8Array | null = null;
    const after = crashRebootResume({
      world: this.world,
      stack: this.stack,
      checker: this.checker,
      history: this.history,
      strategy: (device) => strategyOf(device.name),
      reboot: () => this.reboot(),
      mayDiffer: () => [...this.mayDiffer].filter((region) => this.differs(region)),
      exempt: [...this.diverged],
      onCrashImages: () => {
        image = this.logImage();
      },
    });
    this.requests.dropAll();
    this.crashCount++;
    this.setStack(after.stack);
    // A device still faulty at the reboot (failed, or a one-shot armed) counts: recovery meets it.
    this.faultsSinceCrash = this.world.devices.filter((device) => device.faults.isFaulty).length;
    this.faultsSinceResume = this.faultsSinceCrash;
    for (const region of after.exempt) this.divergeRegion(region, DISCARD_CRASH_FACT);
    const outOfSync = this.outOfSyncRegions();
    this.checkResyncPlan(expectation.resync, outOfSync, image);
    if (expectation.legsMayDiffer) this.noteNosyncDivergence();
    this.pinIndeterminate(after.indeterminate);
    // A userspace log cannot say without blocking which regions are out of sync: nothing to compare.
    this.recovery = outOfSync === null ? null : { outOfSync, recovered: new Set() };
    this.note(
      `crash ${reached} at event ${after.crash.atStep} (state ${after.crash.stateId}); ${after.indeterminate.length} writes indeterminate; ${outOfSync?.size ?? '?'} regions out of sync at resume`,
    );
    return `${reached}, ${outOfSync?.size ?? '?'} out of sync`;
  }

  /** Lets recovery run (bounded), then verifies what changed. */
  recover(): string {
    // ms->in_sync alone is not convergence: with a failed log it never drops, writes held or not.
    const converged = this.settleMirror(RECOVERY_BOUND) && this.converged();
    if (!converged) {
      const why = this.whyNotConverged();
      if (why === null && !this.reportSilentDivergence()) {
        this.report(
          'liveness',
          `recovery did not converge within ${describeBound(RECOVERY_BOUND)} though nothing is failed: ${this.describeMirror()}`,
        );
      }
      this.verify();
      return `not converged (${why ?? 'see the expected outcomes'})`;
    }
    const recovery = this.recovery;
    const healthy = this.faultsSinceCrash === 0 && this.failedLegs.size === 0 && !this.logFailed;
    if (recovery !== null && healthy) {
      const missing = [...recovery.outOfSync].filter((region) => !recovery.recovered.has(region));
      const extra = [...recovery.recovered].filter((region) => !recovery.outOfSync.has(region));
      if (missing.length > 0 || extra.length > 0) {
        this.report(
          'mode-expectation',
          `recovery resynced regions [${[...recovery.recovered].join(',')}] but [${[...recovery.outOfSync].join(',')}] were out of sync at resume`,
        );
      }
    }
    this.recovery = null;
    this.verify();
    const count = this.resynced.size;
    this.resynced.clear();
    return `converged, ${count} regions resynced`;
  }

  // ----- faults ------------------------------------------------------------------------

  /** The role a fault on `legName` plays now: the mirror's current default leg, or another. */
  roleOf(legName: string): LegRole {
    return this.mirror.defaultLeg.name === legName ? 'default' : 'other';
  }

  /**
   * Decides whether `kind` on `role` may be injected now; records a
   * beyond-budget one. Returns null to inject, or why it is skipped.
   */
  admitFault(kind: FaultKind, role: LegRole, legName?: string): string | null {
    const expectation = faultExpectation(this.config.profile, kind, role);
    const legFault = role !== 'none';
    if (this.config.budget === 'within') {
      if (!expectation.within) return `beyond budget (${expectation.fact.slice(0, 60)}…)`;
      if (legFault && (this.diverged.size > 0 || this.requests.outstandingDiscards > 0)) {
        return 'the legs already differ (or a discard may make them)';
      }
      if (expectation.needsQuiet && !this.quiesce()) return 'the mirror is not quiet';
    } else {
      if (!expectation.within) this.fire(expectation);
      if (expectation.needsQuiet) this.fire(LINGERING_ONE_SHOT);
      if (legFault && this.diverged.size > 0) {
        this.fire({ fact: DIVERGED_FACT, allowed: DIVERGED_ALLOWED });
      }
    }
    if (expectation.leaves !== null) this.hazards.add(expectation.leaves);
    if (expectation.leavesOnFirstLeg !== null && legName === this.tableOrder[0]) {
      this.hazards.add(expectation.leavesOnFirstLeg);
    }
    this.faultsSinceCrash++;
    this.faultsSinceResume++;
    return null;
  }

  /** Within budget, a one-shot fault must not linger to hit recovery: disarm what was not consumed. */
  disarm(deviceName: string): void {
    if (this.config.budget !== 'within') return;
    const device = this.world.device(deviceName);
    device.faults.heal();
    if (this.failedLegs.has(deviceName)) device.faults.fail({ reads: true, writes: true });
    if (deviceName === FUZZ_LOG_DEVICE && this.logFailed) device.faults.fail();
  }

  failLeg(legName: string): void {
    this.world.device(legName).faults.fail({ reads: true, writes: true });
    this.failedLegs.add(legName);
  }

  restoreLeg(legName: string): void {
    this.world.device(legName).faults.heal();
    this.failedLegs.delete(legName);
  }

  failLog(): void {
    this.world.device(FUZZ_LOG_DEVICE).faults.fail();
    this.logFailed = true;
  }

  restoreLog(): void {
    this.world.device(FUZZ_LOG_DEVICE).faults.heal();
    this.logFailed = false;
  }

  isLegFailed(legName: string): boolean {
    return this.failedLegs.has(legName);
  }

  get isLogFailed(): boolean {
    return this.logFailed;
  }

  // ----- table operations ------------------------------------------------------------------

  /** `dmsetup suspend [--noflush]` then `resume` of the same table. */
  suspendResume(noflush: boolean): string {
    const outOfStep = this.admitDaemonOutOfStep();
    if (outOfStep !== null) return outOfStep;
    // A disk (or userspace) log in nosync mode re-reads nothing at resume: like a nosync reload.
    if (this.tableMode === 'nosync' && this.config.profile.logType !== 'core') {
      const skipped = this.admitNosyncActivation();
      if (skipped !== null) return skipped;
      this.noteNosyncReload();
    }
    this.noteResume();
    this.faultsSinceResume = this.world.devices.filter((device) => device.faults.isFaulty).length;
    const outcome = this.guardHang('suspend/resume', () => {
      suspendStack(this.stack, noflush);
      resumeStack(this.stack);
    });
    this.tableChanges++;
    return outcome;
  }

  /**
   * Reloads the table, with the mirror's current default leg first (what a
   * repair by dmeventd keeps) and `mode` (default: the current one).
   */
  reload(noflush: boolean, mode: TableMode = this.tableMode, repair = false): string {
    // With the daemon down the load itself is refused (its CTR fails), which is safe to try.
    const outOfStep = repair ? null : this.admitDaemonOutOfStep({ refusedIfDown: true });
    if (outOfStep !== null) return outOfStep;
    if (mode === 'nosync') {
      // The liveness repair reloads nosync only over legs that agree everywhere.
      const skipped = repair ? null : this.admitNosyncActivation();
      if (skipped !== null) return skipped;
      this.noteNosyncReload();
    }
    const order = this.repairOrder();
    const table = profileTable(this.config.profile, this.config.geometry, {
      legOrder: order,
      mode,
    });
    let outcome: string;
    try {
      outcome = this.guardHang('reload', () => reloadStack(this.stack, table, noflush));
    } catch (error) {
      // `dmsetup load` can fail (a userspace log whose daemon is down): the live table stays.
      if (!(error instanceof TableError)) throw error;
      this.note(`reload refused: ${error.message}`);
      return `refused (${error.message})`;
    }
    this.tableChanges++;
    if (this.stopped !== null) return outcome;
    this.noteResume(mode);
    this.faultsSinceResume = this.world.devices.filter((device) => device.faults.isFaulty).length;
    const newFirst = order[0]!;
    if (
      reloadLeavesVolatileFirstLeg(
        this.config.profile,
        this.tableOrder[0]!,
        newFirst,
        this.world.device(newFirst).nonDurableWriteCount,
      )
    ) {
      this.hazards.add('volatile-first-leg');
    }
    this.tableOrder = order;
    if (mode !== this.tableMode) {
      this.tableMode = mode;
      this.replaceChecker();
    }
    this.hazards.delete('stale-first-leg');
    this.hookRecovery();
    this.note(`reload ${table}${noflush ? ' (noflush)' : ''}`);
    return `${order.join(',')}${mode === this.config.profile.tableMode ? '' : ` ${mode}`}`;
  }

  // ----- userspace daemon ------------------------------------------------------------------

  /** The userspace log plumbing of this machine (userspace profiles only). */
  ulogMachine() {
    const machine = existingUlogMachine(this.world);
    if (machine === undefined) throw new RangeError('This scenario has no userspace log');
    return machine;
  }

  // ----- checks ---------------------------------------------------------------------------------

  /** The checks every command ends with (see the file comment). */
  afterCommand(): void {
    if (this.stopped !== null) return;
    for (const violation of this.pendingViolations.splice(0)) {
      this.report(violation.kind, violation.message);
    }
    this.harvestChecker();
    this.checker.checkQuiescent();
    this.checker.checkLegsAgree({
      exempt: this.diverged,
      regions: [...this.mayDiffer].filter(
        (region) => !this.legRequestsOutstanding.has(region) && this.differs(region),
      ),
    });
    this.harvestChecker();
    this.pruneMayDiffer();
    for (const problem of this.reports.check()) this.report('unreported', problem);
    if (this.quiet()) this.hazards.delete('marks-lost');
    // Once the first leg holds nothing volatile, its resync copies are durable.
    if (this.world.device(this.tableOrder[0]!).nonDurableWriteCount === 0) {
      this.hazards.delete('volatile-first-leg');
    }
  }

  /**
   * The liveness phase and the final verification: heal every fault, let
   * outstanding work finish, reload a repaired table if the mirror needs
   * one, then require convergence and verify every region.
   */
  finish(): void {
    if (this.stopped !== null) return;
    this.healAll();
    const scheduler = this.world.scheduler;
    const start = { ticks: scheduler.now(), steps: scheduler.steps };
    this.settleMirror(HEAL_BOUND);
    this.runUntil(() => this.requests.outstanding === 0, HEAL_BOUND);
    if (!this.converged()) {
      const repairMode =
        this.tableMode === 'nosync' && !this.allInSyncAndAgreeing() ? 'sync' : this.tableMode;
      this.reload(true, repairMode, true);
      if (this.stopped !== null) return;
    }
    const remaining: RunBound = {
      stepsMax: Math.max(0, LIVENESS_BOUND.stepsMax - (scheduler.steps - start.steps)),
      ticksMax: Math.max(0, LIVENESS_BOUND.ticksMax - (scheduler.now() - start.ticks)),
    };
    const converged = this.settleMirror(remaining);
    this.runUntil(() => this.requests.outstanding === 0, remaining);
    const tookTicks = scheduler.now() - start.ticks;
    if (converged && tookTicks <= LIVENESS_BOUND.ticksMax && this.reportSilentDivergence()) return;
    if (!converged || !this.converged() || tookTicks > LIVENESS_BOUND.ticksMax) {
      this.report(
        'liveness',
        `after every fault healed the mirror did not converge within ${describeBound(LIVENESS_BOUND)} (took ${tookTicks} ticks): ${this.describeMirror()}`,
      );
      return;
    }
    this.afterCommand();
    this.verify(true);
    this.note(`finished: ${this.describeMirror()}`);
  }

  /** Records one line for replay output. */
  note(text: string): void {
    this.journal.push(`[${this.world.scheduler.steps}] ${text}`);
  }

  /**
   * A violation: thrown as a {@link FuzzFailure} unless a beyond-budget
   * fault that fired explains it, in which case it is kept as expected.
   */
  report(kind: ViolationKind, message: string): void {
    // The latest fault that explains it is the likeliest cause.
    const explanation = this.fired.findLast((fired) => fired.allowed.includes(kind));
    if (explanation !== undefined) {
      if (this.expected.length < 50) {
        this.expected.push({ kind, message, fact: explanation.fact });
      }
      return;
    }
    throw new FuzzFailure({ kind, message, step: this.world.scheduler.steps });
  }

  // ----- internals --------------------------------------------------------------------------------

  /** Every write, discard or resync copy a leg is sent may make the legs differ in its regions. */
  private watchLegWrites(): void {
    const regionSize = this.config.geometry.regionSizeSectors;
    const regionCount = this.regionCount;
    for (const name of legNames(this.config.profile.legCount)) {
      this.world.device(name).observe({
        submitted: (request) => {
          if (request.kind !== 'write' && request.kind !== 'discard') return;
          const first = Math.floor(request.sector / regionSize);
          const last = Math.min(
            regionCount - 1,
            Math.floor((request.sector + request.sectorCount - 1) / regionSize),
          );
          for (let region = first; region <= last; region++) {
            this.mayDiffer.add(region);
            this.legRequestsOutstanding.set(
              region,
              (this.legRequestsOutstanding.get(region) ?? 0) + 1,
            );
            if (request.kind === 'discard') this.discardReachedLeg(region);
          }
        },
        completed: (request, error) => {
          if (request.kind !== 'write' && request.kind !== 'discard') return;
          const first = Math.floor(request.sector / regionSize);
          const last = Math.min(
            regionCount - 1,
            Math.floor((request.sector + request.sectorCount - 1) / regionSize),
          );
          for (let region = first; region <= last; region++) {
            const outstanding = (this.legRequestsOutstanding.get(region) ?? 0) - 1;
            if (outstanding <= 0) this.legRequestsOutstanding.delete(region);
            else this.legRequestsOutstanding.set(region, outstanding);
          }
          // A discard that failed on this leg leaves the legs different from this moment,
          // before the mirror answers the request NOTSUPP (beyond seed 208480).
          if (request.kind === 'discard' && error !== null) {
            this.divergeRange(request, DISCARD_ERROR_FACT);
          }
        },
      });
    }
  }

  /**
   * Whether the legs differ in `region`, remembered until the world runs an
   * event or crashes: several checks ask about the same regions at the end
   * of one command.
   */
  private differs(region: number): boolean {
    const version = this.contentVersion();
    if (version !== this.differsVersion) {
      this.differsCache.clear();
      this.differsVersion = version;
    }
    let answer = this.differsCache.get(region);
    if (answer === undefined) {
      answer = regionDiffers(this.mirror, region);
      this.differsCache.set(region, answer);
    }
    return answer;
  }

  /**
   * Changes whenever an event runs, a crash happens or the table changes:
   * what the caches above computed stays true until then.
   */
  private contentVersion(): number {
    return (this.world.scheduler.steps * 1024 + this.crashCount) * 1024 + this.tableChanges;
  }

  /** Regions with writes a crash may drop (in flight or cached on some leg). */
  private noteCrashCandidates(): void {
    const regionSize = this.config.geometry.regionSizeSectors;
    for (const name of legNames(this.config.profile.legCount)) {
      for (const write of this.world.device(name).crashCandidates()) {
        const first = Math.floor(write.sector / regionSize);
        const last = Math.floor((write.sector + write.sectorCount - 1) / regionSize);
        for (let region = first; region <= last; region++) {
          if (region < this.regionCount) this.mayDiffer.add(region);
        }
      }
    }
  }

  /** Forgets regions whose legs are identical again (nothing is in flight there to change that). */
  private pruneMayDiffer(): void {
    const mirror = this.mirror;
    const regionSize = this.config.geometry.regionSizeSectors;
    const inFlight = new Set<number>();
    for (const name of legNames(this.config.profile.legCount)) {
      for (const write of this.world.device(name).crashCandidates()) {
        if (write.completionSequence >= 0) continue;
        const last = Math.floor((write.sector + write.sectorCount - 1) / regionSize);
        for (let region = Math.floor(write.sector / regionSize); region <= last; region++) {
          inFlight.add(region);
        }
      }
    }
    for (const region of this.mayDiffer) {
      if (inFlight.has(region) || (mirror.rh.lookup(region)?.pending ?? 0) > 0) continue;
      if (!this.differs(region)) this.mayDiffer.delete(region);
    }
  }

  /** The first successful write to the log device after an unreadable resume closes the stale-log window. */
  private watchLogWrites(): void {
    const log = this.world.devices.find((device) => device.name === FUZZ_LOG_DEVICE);
    // Only a write issued inside the window carries the in-memory (all dirty) bitmap.
    const issuedInWindow = new WeakSet<object>();
    log?.observe({
      submitted: (request) => {
        if (request.kind === 'write' && this.hazards.has('stale-log')) issuedInWindow.add(request);
      },
      completed: (request, error) => {
        if (request.kind !== 'write' || error !== null || !issuedInWindow.has(request)) return;
        if (!this.hazards.has('stale-log')) return;
        this.hazards.delete('stale-log');
        this.staleLogEndStep = this.world.scheduler.steps;
      },
    });
  }

  /** After a resume of a disk log in default mode with its device failed, the window opens (§8(3)). */
  private noteResume(mode: TableMode = this.tableMode): void {
    const profile = this.config.profile;
    if (profile.logType !== 'disk' || mode !== 'default' || !this.logFailed) return;
    this.hazards.add('stale-log');
    this.staleLogEndStep = Number.POSITIVE_INFINITY;
  }

  private logDefaults(): DeviceDefaults {
    return { latency: this.config.logLatency, writeCache: this.config.profile.writeCache };
  }

  private currentTable(): string {
    return profileTable(this.config.profile, this.config.geometry, {
      legOrder: this.tableOrder,
      mode: this.tableMode,
    });
  }

  private buildStack(table: string): MirrorStack {
    return new MirrorStack({
      world: this.world,
      table,
      legDefaults: { writeCache: this.config.profile.writeCache },
      logDeviceDefaults: this.logDefaults(),
    });
  }

  /** A machine reboot: a new kernel (and userspace daemon) boots the last loaded table. */
  private reboot(): MirrorStack {
    existingUlogMachine(this.world)?.reboot();
    return this.buildStack(this.currentTable());
  }

  private setStack(stack: MirrorStack): void {
    this.tableChanges++;
    this.stack = stack;
    this.issuer.device = stack.device;
    this.checker.setStack(stack);
    this.hookRecovery();
  }

  private hookRecovery(): void {
    this.mirror.onRegionRecovered = (region, success) => {
      if (!success) return;
      this.recovery?.recovered.add(region);
      this.resynced.add(region);
    };
  }

  private replaceChecker(): void {
    this.harvestChecker();
    this.checker.detach();
    this.checker = new MirrorChecker({ world: this.world, stack: this.stack });
    this.checkerSeen = 0;
  }

  private harvestChecker(): void {
    const violations = this.checker.violations;
    while (this.checkerSeen < violations.length) {
      const violation = violations[this.checkerSeen++]!;
      const kind: ViolationKind = violation.invariant;
      const message = `${violation.message} (event ${violation.step})`;
      if (kind === 'write-ahead-marking' && violation.step <= this.staleLogEndStep) {
        this.expect(kind, message, STALE_LOG_FACT);
        continue;
      }
      this.report(kind, message);
    }
  }

  private expect(kind: ViolationKind, message: string, fact: string): void {
    if (this.expected.length < 50) this.expected.push({ kind, message, fact });
  }

  private fire(fired: Fired): void {
    if (!this.fired.some((each) => each.fact === fired.fact)) this.fired.push(fired);
  }

  /** Runs until `predicate` holds, within `bound`; false if not reached. */
  private runUntil(predicate: () => boolean, bound: RunBound): boolean {
    const scheduler = this.world.scheduler;
    const deadline = scheduler.now() + bound.ticksMax;
    try {
      scheduler.runUntil(() => predicate() || scheduler.now() > deadline, {
        stepsMax: bound.stepsMax,
      });
    } catch (error) {
      if (!(error instanceof StepLimitError)) throw error;
    }
    return predicate();
  }

  /** Runs until the mirror is in sync, idle and the world has nothing left to do, within `bound`. */
  private settleMirror(bound: RunBound): boolean {
    const mirror = this.mirror;
    const scheduler = this.world.scheduler;
    return this.runUntil(() => mirror.inSync && mirror.idle && scheduler.pendingCount === 0, bound);
  }

  private runToCrashPoint(point: CrashPoint): string {
    if (point.kind === 'now') return 'now';
    if (point.kind === 'events') {
      const ran = this.advance(point.events);
      return `after ${ran} events`;
    }
    let seen = 0;
    const detachers = this.world.devices.map((device) =>
      device.observe({
        completed: (request, error) => {
          if (error !== null) return;
          if (request.kind === 'flush' || (request.kind === 'write' && request.fua)) seen++;
        },
      }),
    );
    try {
      this.runUntil(() => seen >= point.count, RECOVERY_BOUND);
    } finally {
      for (const detach of detachers) detach();
    }
    return seen >= point.count
      ? `right after persistence point ${point.count}`
      : `idle after ${seen} persistence points`;
  }

  /** The log device's image (disk log in default mode), to know what a resume will find. */
  private logImage(): Uint8Array | null {
    if (this.config.profile.logType !== 'disk') return null;
    const device = this.world.device(FUZZ_LOG_DEVICE);
    const bytes = LOG_OFFSET_BYTES + Math.ceil(this.regionCount / 8);
    return device.content.read(0, Math.ceil(bytes / SECTOR_SIZE_BYTES));
  }

  /** Regions out of sync, by the region hash or the log; null if the log cannot say without blocking. */
  private outOfSyncRegions(): Set<number> | null {
    const version = this.contentVersion();
    if (this.outOfSyncCache !== undefined && this.outOfSyncCache.version === version) {
      return this.outOfSyncCache.regions;
    }
    const regions = this.computeOutOfSync();
    this.outOfSyncCache = { version, regions };
    return regions;
  }

  private computeOutOfSync(): Set<number> | null {
    const mirror = this.mirror;
    const regions = new Set<number>();
    for (let region = 0; region < mirror.regionCount; region++) {
      const held = mirror.rh.lookup(region);
      if (held !== undefined) {
        if (held.state !== DM_RH_CLEAN && held.state !== DM_RH_DIRTY) regions.add(region);
        continue;
      }
      const answer = logInSyncNow(mirror.log, region);
      if (answer === EWOULDBLOCK) return null;
      if (answer !== 1) regions.add(region);
    }
    return regions;
  }

  /** §2.5 §5.5 §8(3): what the table mode promises about the regions a crash leaves out of sync. */
  private checkResyncPlan(
    plan: 'all' | 'dirty' | 'none',
    outOfSync: ReadonlySet<number> | null,
    image: Uint8Array | null,
  ): void {
    if (outOfSync === null) return;
    const regionCount = this.regionCount;
    let expected: Set<number>;
    if (plan === 'all') expected = rangeSet(regionCount);
    else if (plan === 'none') expected = new Set();
    else if (image === null) return;
    else expected = dirtyRegionsOf(image, regionCount);
    const same = expected.size === outOfSync.size && [...expected].every((r) => outOfSync.has(r));
    if (!same) {
      this.report(
        'mode-expectation',
        `after a crash the ${this.config.profile.logType} log (${this.tableMode}) should resync ${plan === 'dirty' ? `the dirty regions [${[...expected].join(',')}]` : plan}, but [${[...outOfSync].join(',')}] are out of sync`,
      );
    }
  }

  /**
   * Within budget, legs that may diverge (nosync activations, discards) and
   * legs that fail never meet: a failing default would send reads to a leg
   * holding different data. Beyond budget, the meeting is recorded.
   */
  private legsUnhealthy(): boolean {
    const mirror = this.mirror;
    return (
      this.failedLegs.size > 0 ||
      mirror.legs.some((leg) => leg.statusChar() !== 'A') ||
      mirror.defaultLeg.name !== this.tableOrder[0]
    );
  }

  private admitDiscard(): boolean {
    if (!this.legsUnhealthy()) return true;
    if (this.config.budget === 'within') return false;
    this.fire({ fact: DIVERGED_FACT, allowed: DIVERGED_ALLOWED });
    return true;
  }

  /** A nosync activation forgets which regions are out of sync; see {@link legsUnhealthy}. */
  /**
   * A table operation on a userspace log whose daemon is down, or restarted
   * and not yet reconnected to (it does not hold the log resumed), can hang
   * for good (see the fact): skipped within budget, expected beyond it.
   */
  private admitDaemonOutOfStep(options: { readonly refusedIfDown?: boolean } = {}): string | null {
    if (this.config.profile.logType !== 'userspace') return null;
    const daemon = this.ulogMachine().daemon;
    if (daemon === null) return null;
    if (!daemon.listening && options.refusedIfDown === true) return null;
    const served = daemon.listening ? daemon.state.findLog(FUZZ_USERSPACE_UUID, 0n) : undefined;
    if (served?.state === 'resumed') return null;
    if (this.config.budget === 'within') return `skipped: ${DAEMON_OUT_OF_STEP_FACT.slice(0, 60)}…`;
    this.fire({ fact: DAEMON_OUT_OF_STEP_FACT, allowed: ['liveness'] });
    return null;
  }

  private admitNosyncActivation(): string | null {
    if (!this.legsUnhealthy()) return null;
    if (this.config.budget === 'within') return `skipped: ${NOSYNC_FACT}`;
    this.fire({
      fact: NOSYNC_UNHEALTHY_FACT,
      allowed: [...DIVERGED_ALLOWED, 'read-routing', 'liveness'],
    });
    return null;
  }

  /**
   * A discard reaching a leg of a region out of sync may race its resync
   * (§4.8): the legs may then differ there. It is judged when it reaches
   * the leg, not when it is issued: a discard held back by a suspend may
   * land after a reload made its region out of sync.
   */
  private discardReachedLeg(region: number): void {
    const mirror = this.mirror;
    const held = mirror.rh.lookup(region);
    const inSync =
      held !== undefined
        ? held.state === DM_RH_CLEAN || held.state === DM_RH_DIRTY
        : logInSyncNow(mirror.log, region) === 1;
    if (!inSync) this.divergeRegion(region, DISCARD_RACE_FACT);
  }

  private divergeRange(range: { sector: number; sectorCount: number }, fact: string): void {
    const regionSize = this.config.geometry.regionSizeSectors;
    const first = Math.floor(range.sector / regionSize);
    const last = Math.floor((range.sector + range.sectorCount - 1) / regionSize);
    for (let region = first; region <= last; region++) this.divergeRegion(region, fact);
  }

  /** Region `region`'s legs may now differ for a documented reason: exempt it, and say why. */
  private divergeRegion(region: number, fact: string): void {
    if (this.diverged.has(region)) return;
    this.diverged.add(region);
    if (this.expected.length < 50) {
      this.expected.push({
        kind: 'legs-differ',
        message: `region ${region}: legs may differ`,
        fact,
      });
    }
  }

  /** A nosync activation over legs that differ: the divergence Linux allows (§2.5 §5.5), recorded. */
  private noteNosyncDivergence(): void {
    for (const region of this.mayDiffer) {
      if (this.differs(region)) this.divergeRegion(region, NOSYNC_FACT);
    }
  }

  /** A nosync reload forgets which regions were out of sync: those may keep differing legs. */
  private noteNosyncReload(): void {
    const outOfSync = this.outOfSyncRegions() ?? rangeSet(this.regionCount);
    for (const region of outOfSync) this.divergeRegion(region, NOSYNC_FACT);
    this.noteNosyncDivergence();
  }

  /** Pins every sector a crash left indeterminate to what the default leg now holds. */
  private pinIndeterminate(writes: readonly { sector: number; sectorCount: number }[]): void {
    const leg = this.mirror.defaultLeg;
    const content = this.world.device(leg.name).content;
    const done = new Set<number>();
    for (const write of writes) {
      for (let sector = write.sector; sector < write.sector + write.sectorCount; sector++) {
        if (done.has(sector)) continue;
        done.add(sector);
        const bytes = content.read(leg.offsetSectors + sector, 1);
        const violation = this.history.pinAfterCrash(sector, bytes);
        if (violation !== null) {
          this.report(
            'register',
            `after the crash sector ${sector} on ${leg.name} holds ${violation.found}, expected ${violation.expected}`,
          );
        }
      }
    }
  }

  private verify(all = false): void {
    const mirror = this.mirror;
    const outOfSync = this.outOfSyncRegions();
    // A write still pending in the region hash (held, say) may have reached some legs only.
    const pending = (region: number) => (mirror.rh.lookup(region)?.pending ?? 0) > 0;
    const violations = this.verifier.verify(mirror, this.history, {
      all,
      differs: (region) => this.differs(region),
      legsMayDiffer: (region) =>
        this.diverged.has(region) || outOfSync === null || outOfSync.has(region) || pending(region),
    });
    for (const violation of violations) this.report(violation.kind, violation.message);
    // A divergence is over once the legs agree again with nothing in flight that could undo it.
    if (this.requests.outstanding === 0 && outOfSync !== null) {
      for (const region of [...this.diverged]) {
        if (!outOfSync.has(region) && !this.differs(region)) this.diverged.delete(region);
      }
    }
  }

  /** Runs until idle (bounded) and says whether the mirror is quiet: in sync, idle, nothing in flight. */
  private quiesce(): boolean {
    this.runUntil(() => this.quiet(), WAIT_BOUND);
    if (!this.quiet()) return false;
    // ms->in_sync is not enough: after a daemon restart a userspace log may hold regions out of
    // sync that the mirror never failed. Every region must be in sync by the log's own account.
    const outOfSync = this.outOfSyncRegions();
    if (outOfSync !== null) return outOfSync.size === 0;
    return this.askSyncCount() === this.regionCount && this.quiet();
  }

  /** `get_sync_count` through the blocking interface (a userspace log asks its daemon). */
  private askSyncCount(): number {
    try {
      return runTask(this.world.scheduler, this.mirror.log.getSyncCount(), {
        what: 'get_sync_count',
        stepsMax: WAIT_BOUND.stepsMax,
      });
    } catch (error) {
      if (error instanceof StepLimitError || (error as Error).name === 'InvariantError') return -1;
      throw error;
    }
  }

  private quiet(): boolean {
    const mirror = this.mirror;
    return (
      this.requests.outstanding === 0 &&
      mirror.inSync &&
      mirror.idle &&
      mirror.heldCount === 0 &&
      this.stack.device.inFlight === 0
    );
  }

  /** The mirror is whole: in sync, idle, no errors recorded, nothing held or outstanding. */
  private converged(): boolean {
    return this.settledWhole() && this.allInSyncAndAgreeing();
  }

  /** Everything of {@link converged} but the legs agreeing: quiet, no error recorded anywhere. */
  private settledWhole(): boolean {
    const mirror = this.mirror;
    return (
      this.quiet() &&
      !mirror.logFailure &&
      !mirror.rh.flushFailure &&
      mirror.legs.every((leg) => leg.statusChar() === 'A') &&
      this.logStatusOk()
    );
  }

  /**
   * A mirror that settled whole while some region in sync has legs that
   * differ will never resync it: that is lost redundancy (a legs-differ
   * finding, which a documented outcome may explain), not a stalled one.
   */
  private reportSilentDivergence(): boolean {
    if (!this.settledWhole()) return false;
    const outOfSync = this.outOfSyncRegions();
    if (outOfSync !== null && outOfSync.size > 0) return false;
    const differing = [...this.mayDiffer].filter(
      (region) => !this.diverged.has(region) && this.differs(region),
    );
    if (differing.length === 0) return false;
    this.report(
      'legs-differ',
      `regions [${differing.join(',')}] are in sync with legs that differ; nothing will resync them`,
    );
    return true;
  }

  private allInSyncAndAgreeing(): boolean {
    const outOfSync = this.outOfSyncRegions();
    if (outOfSync !== null && outOfSync.size > 0) return false;
    for (const region of this.mayDiffer) {
      if (!this.diverged.has(region) && this.differs(region)) return false;
    }
    return true;
  }

  private logStatusOk(): boolean {
    const log = this.mirror.log as { logDevFailed?: boolean };
    return log.logDevFailed !== true;
  }

  /** Why the mirror cannot converge yet, or null if it should have. */
  private whyNotConverged(): string | null {
    const mirror = this.mirror;
    if (this.failedLegs.size > 0) return `legs ${[...this.failedLegs].join(',')} are failed`;
    if (this.logFailed) return 'the log device is failed';
    if (mirror.heldCount > 0) return `${mirror.heldCount} writes are held for a new table`;
    if (mirror.logFailure) return 'the log failed (sticky until a new table)';
    if (mirror.rh.flushFailure) return 'a PREFLUSH failed (sticky until a new table)';
    if (mirror.legs.some((leg) => leg.statusChar() !== 'A')) {
      return 'legs have errors recorded: a resync waits for the next resume or a new table';
    }
    if (!this.logStatusOk()) return 'the log device has failed';
    if (this.faultsSinceResume > 0) {
      return 'a region failed behind the resync cursor: it waits for the next resume (§2.7 get_resync_work)';
    }
    if (this.requests.outstanding > 0 && this.fired.length > 0) return 'requests are outstanding';
    return null;
  }

  private describeMirror(): string {
    const mirror = this.mirror;
    const outstanding = this.requests.describeOutstanding();
    return `status "${this.stack.status('info')}", in_sync ${mirror.inSync}, idle ${mirror.idle}, held ${mirror.heldCount}, outstanding [${outstanding.join('; ')}]`;
  }

  /** The leg order a repair keeps: the mirror's current default first, then the rest in table order. */
  private repairOrder(): string[] {
    const first = this.mirror.defaultLeg.name;
    return [first, ...this.tableOrder.filter((name) => name !== first)];
  }

  private healAll(): void {
    for (const device of this.world.devices) device.faults.heal();
    const daemon = existingUlogMachine(this.world)?.daemon;
    if (daemon !== null && daemon !== undefined && !daemon.listening) daemon.restart();
    this.failedLegs.clear();
    this.logFailed = false;
  }

  /** Runs a table operation; a suspend that can never finish is a liveness finding. */
  private guardHang(what: string, operation: () => void): string {
    try {
      operation();
      return 'done';
    } catch (error) {
      // runTask reports a task that can never finish as "did not finish" (the world went idle) or
      // as a step-limit error (events kept coming, e.g. a requeue loop): both are hangs.
      const hung =
        error instanceof StepLimitError ||
        ((error as Error).name === 'InvariantError' && /did not finish/.test(String(error)));
      if (!hung) throw error;
      this.report('liveness', `${what} never completed: ${(error as Error).message}`);
      this.stopped = `${what} hung (an expected Linux hang, see the expected outcomes)`;
      this.note(this.stopped);
      return 'hung';
    }
  }
}

/** A request the budget did not let through: done at once, never sent. */
function skippedRequest(spec: RequestSpec): UserRequest {
  return { ...spec, seq: 0, state: 'done', error: 'SKIPPED', data: null };
}

function describeBound(bound: RunBound): string {
  return `${bound.stepsMax} events / ${bound.ticksMax / 1_000_000} s simulated`;
}

function firstDifferentSector(left: Uint8Array, right: Uint8Array): number {
  for (let index = 0; index < left.length; index++) {
    if (left[index] !== right[index]) return Math.floor(index / SECTOR_SIZE_BYTES);
  }
  return -1;
}

function rangeSet(count: number): Set<number> {
  return new Set(Array.from({ length: count }, (_, index) => index));
}

/** What `disk_resume` will find out of sync in a log image (§2.5): clean bit 0, or not covered. */
function dirtyRegionsOf(image: Uint8Array, regionCount: number): Set<number> {
  const header = decodeLogHeader(image.subarray(0, 16));
  if (header.magic !== MIRROR_MAGIC || !isCompatibleLogVersion(header.version)) {
    return rangeSet(regionCount);
  }
  const covered = Math.min(coveredRegionCount(header.nrRegions), regionCount);
  const dirty = new Set<number>();
  for (let region = 0; region < regionCount; region++) {
    const byte = image[LOG_OFFSET_BYTES + (region >> 3)] ?? 0;
    if (region >= covered || ((byte >> (region & 7)) & 1) === 0) dirty.add(region);
  }
  return dirty;
}
