/**
 * The fault budget (TigerBeetle's fault atlas) and every expectation the
 * crash-consistency suites hold the mirror to, in one place.
 *
 * For each kind of fault and each mirror profile (log type, table mode,
 * features), the table below says whether Linux's dm-raid1 is designed to
 * survive it — no acknowledged durable write lost, every read old-or-new,
 * legs identical once faults heal and recovery ends — or not. Within the
 * budget any violation is a bug. Beyond it, the row names the documented
 * Linux behaviour that explains the violations it allows, and how Linux
 * reports it (status characters, events, EIO): a beyond-budget fault may
 * lose data, but never where Linux would have said nothing.
 *
 * The first matching row wins, so specific rows come before general ones.
 * test/crash/fault-budget.test.ts pins every verdict.
 */
import type { FeatureSet, FuzzLogType, MirrorProfile, TableMode } from './mirror-profile.js';

/** A fault the suites can inject. Every one is a command, so it shrinks. */
export type FaultKind =
  /** One user write fails on one leg (the next write that leg sees). */
  | 'legWriteError'
  /** One user read fails on one leg. */
  | 'legReadError'
  /** A leg fails every read and write until it is restored (a dead disk that still flushes). */
  | 'legFail'
  /** One PREFLUSH fails on a leg (a user flush or the disk log's leg flush). */
  | 'legFlushError'
  /** One write to the log device fails. */
  | 'logWriteError'
  /** The log device fails every request until it is restored. */
  | 'logFail'
  /** The userspace log daemon crashes and restarts later. */
  | 'daemonCrash'
  /** A request to, or a reply from, the userspace log daemon is lost. */
  | 'ulogMessageLoss'
  /** A daemon reply arrives after the kernel's 15 s timeout, so after the resend. */
  | 'ulogLateReply';

/** Every fault kind, in the order swarm weights are drawn. */
export const FAULT_KINDS: readonly FaultKind[] = [
  'legWriteError',
  'legReadError',
  'legFail',
  'legFlushError',
  'logWriteError',
  'logFail',
  'daemonCrash',
  'ulogMessageLoss',
  'ulogLateReply',
];

/** Whether a leg fault hits the mirror's current default leg, another leg, or no leg. */
export type LegRole = 'default' | 'other' | 'none';

/** What the suites check; a beyond-budget row lists the ones its documented outcome may break. */
export type ViolationKind =
  /** A sector read back (by a user read, or after a crash) as a value the register oracle forbids. */
  | 'register'
  /** Two reads of one sector with no write between returned different data. */
  | 'read-stability'
  /** Legs differ after recovery finished. */
  | 'legs-differ'
  /** Invariant 1: a data write reached a leg of a region a crash could leave clean. */
  | 'write-ahead-marking'
  /** Invariant 2: a region was written clean while a leg held non-durable writes to it. */
  | 'clean-before-durable'
  /** Invariant 3: a region whose legs differ is in sync. */
  | 'legs-differ-in-sync'
  /** Invariant 4: `sync_count` disagrees with the regions in sync. */
  | 'sync-count'
  /** Reads of a region out of sync went to a leg other than the default. */
  | 'read-routing'
  /** A component's own assertion failed. */
  | 'internal'
  /** Recovery did not converge after every fault healed, or a request never completed. */
  | 'liveness'
  /** What a crash resynced differs from what the table mode promises. */
  | 'mode-expectation'
  /** A fault Linux reports (status, event) was not reported. */
  | 'unreported';

/** How Linux makes a fault visible. */
export type Report =
  /** The leg's health character in `dmsetup status` is no longer `A` (until full sync resets it). */
  | 'leg-status'
  /** A `dm_table_event` names the leg (only with `handle_errors`). */
  | 'leg-event'
  /** The disk log's status character is `D` or `F`, and an event was raised. */
  | 'log-status';

/** One row's verdict for one fault on one profile. */
export interface FaultExpectation {
  readonly kind: FaultKind;
  readonly within: boolean;
  /** The reference fact (dm-mirror.md section) behind the verdict, in one sentence. */
  readonly fact: string;
  /** For beyond-budget faults: what the documented outcome may break. Empty within budget. */
  readonly allowed: readonly ViolationKind[];
  /** How the fault must be reported when it takes effect. */
  readonly reported: readonly Report[];
  /**
   * The fault is only within budget when injected into a quiet mirror (in
   * sync, idle, nothing in flight) and consumed by one user request: it
   * must not hit recovery, whose failures follow other rules.
   */
  readonly needsQuiet: boolean;
  /** A hazard the fault leaves that makes a later crash or reload beyond budget (until repaired). */
  readonly leaves: Hazard | null;
  /**
   * A hazard the fault leaves when it hits the table's first leg, whatever
   * the leg's role now (after a default switch the first leg is no longer
   * the default, but a reboot of the same table makes it the default again).
   */
  readonly leavesOnFirstLeg: Hazard | null;
}

/**
 * Beyond budget a one-shot fault is injected whatever the mirror is doing,
 * so it may hit recovery instead of a user request: what that may break.
 */
export const LINGERING_ONE_SHOT: {
  readonly fact: string;
  readonly allowed: readonly ViolationKind[];
} = {
  fact: '§3.4 §4.5 §4.6: a one-shot error that hits recovery instead of a user request follows recovery’s rules — without handle_errors a failed copy is recorded in sync (a failed read copies kcopyd’s stale pages), and with keep_log a default leg that fails while out of sync is switched to a leg that may be stale',
  allowed: ['register', 'legs-differ', 'legs-differ-in-sync', 'read-stability'],
};

/**
 * State a fault leaves behind that changes what a later crash may do:
 * `stale-first-leg` — a write was acknowledged without the table's first
 * leg, which a reboot of the same table would make the recovery source;
 * `marks-lost` — a daemon crash may have lost queued marks (no
 * integrated flush); `stale-log` — the disk log could not be read at
 * resume, so every region is out of sync in memory while the device still
 * holds the old bitmap, until the next successful log write (§8(3));
 * `volatile-first-leg` — a reload put first a leg whose resync copies are
 * still only in its write cache (see VOLATILE_FIRST_LEG_FACT).
 */
export type Hazard = 'stale-first-leg' | 'marks-lost' | 'stale-log' | 'volatile-first-leg';

/** Why a crash after a reload that put a leg with unflushed resync copies first may lose data. */
export const VOLATILE_FIRST_LEG_FACT =
  '§2.4 §4.5 §5.5: the core log’s flush is a no-op, so nothing ever flushes the legs after recovery and kcopyd’s resync copies can sit in a leg’s volatile cache; a reload that puts that leg first (the default after a switch) makes it the recovery source, and a crash then resyncs its older durable content over the other legs';

/**
 * Whether a reload that puts `newFirst` first, replacing `oldFirst`, opens
 * the volatile-first-leg hazard: only a log whose flush never calls the
 * mirror's leg flush (core) leaves resync copies volatile, and only a leg
 * holding non-durable writes can lose any.
 */
export function reloadLeavesVolatileFirstLeg(
  profile: MirrorProfile,
  oldFirst: string,
  newFirst: string,
  newFirstNonDurableWrites: number,
): boolean {
  return (
    profile.logType === 'core' &&
    profile.writeCache &&
    newFirst !== oldFirst &&
    newFirstNonDurableWrites > 0
  );
}

/** Why writes reach legs of regions the durable log calls clean while the stale-log window is open. */
export const STALE_LOG_FACT =
  '§2.5 §8(3): a disk log unreadable at resume assumes every region out of sync, but the log device keeps its old bitmap until the next successful log write; resync copies and writes to (now NOSYNC) regions reach the legs meanwhile, and a crash in that window, with the log readable again, trusts the stale clean bits';

interface Row {
  readonly kind: FaultKind;
  readonly role?: LegRole;
  readonly logTypes?: readonly FuzzLogType[];
  readonly features?: readonly FeatureSet[];
  readonly integratedFlush?: boolean;
  readonly within: boolean;
  readonly fact: string;
  readonly allowed?: readonly ViolationKind[];
  readonly reported?: readonly Report[];
  readonly needsQuiet?: boolean;
  readonly leaves?: Hazard;
  readonly leavesOnFirstLeg?: Hazard;
}

const NO_HANDLE: readonly FeatureSet[] = ['none'];
const HANDLED: readonly FeatureSet[] = ['handle_errors', 'keep_log'];
const LEG_REPORTS: readonly Report[] = ['leg-status'];
const LEG_REPORTS_HANDLED: readonly Report[] = ['leg-status', 'leg-event'];
const DATA_LOSS: readonly ViolationKind[] = ['register', 'legs-differ', 'legs-differ-in-sync'];

/** The table. Read it top to bottom; the first row that matches decides. */
const ROWS: readonly Row[] = [
  // ----- leg PREFLUSH failures: beyond budget everywhere -----------------------
  {
    kind: 'legFlushError',
    within: false,
    fact: '§4.8 §3.3: a failed PREFLUSH sets the sticky flush_failure — regions drain to NOSYNC while the log may still say in sync, writes then reach only the default leg, and recovery can stall for good; from the disk log it sets flush_failed (every region dirty)',
    allowed: [...DATA_LOSS, 'liveness', 'read-stability', 'read-routing'],
    reported: LEG_REPORTS,
  },
  // ----- leg write errors ---------------------------------------------------------
  {
    kind: 'legWriteError',
    role: 'default',
    features: NO_HANDLE,
    within: false,
    fact: '§4.4 §5.6: without handle_errors a write that failed on the default leg is acknowledged and the default does not switch, so reads of its NOSYNC region, and its resync, come from the leg that missed it',
    allowed: [...DATA_LOSS, 'read-stability'],
    reported: LEG_REPORTS,
  },
  {
    kind: 'legWriteError',
    role: 'default',
    features: ['keep_log'],
    within: true,
    fact: '§4.4 §4.6: with keep_log a write that failed on the default leg only is acknowledged and the default switches (in sync); the table must be repaired (the new default first) before a reboot, or the stale leg becomes the recovery source',
    reported: LEG_REPORTS_HANDLED,
    needsQuiet: true,
    leaves: 'stale-first-leg',
  },
  {
    kind: 'legWriteError',
    features: ['keep_log'],
    within: true,
    fact: '§4.4 §4.6: with keep_log a write that failed on one leg is acknowledged from the legs that have it and its region goes NOSYNC; if that leg is the table’s first (the default before a switch), a reboot of the same table would resync from it',
    reported: LEG_REPORTS_HANDLED,
    needsQuiet: true,
    leavesOnFirstLeg: 'stale-first-leg',
  },
  {
    kind: 'legWriteError',
    features: HANDLED,
    within: true,
    fact: '§4.4 §4.6 §8(9): with handle_errors a partly failed write is held until userspace reconfigures, its region goes NOSYNC, and the default switches only while in sync',
    reported: LEG_REPORTS_HANDLED,
    needsQuiet: true,
  },
  {
    kind: 'legWriteError',
    within: true,
    fact: '§4.4 step 7: without handle_errors a write that failed on a non-default leg is acknowledged, its region goes NOSYNC and is resynced from the default leg at the next resume',
    reported: LEG_REPORTS,
    needsQuiet: true,
  },
  // ----- leg read errors ------------------------------------------------------------
  {
    kind: 'legReadError',
    role: 'default',
    features: HANDLED,
    within: true,
    fact: '§4.3 §4.6 §8(7): with handle_errors a failed read fails the default leg (READ_ERROR) and, while in sync, switches the default; writes to NOSYNC regions then reach only the new default, so if the failed leg is the table’s first, a reboot of the same table would resync from it',
    reported: LEG_REPORTS,
    needsQuiet: true,
    leavesOnFirstLeg: 'stale-first-leg',
  },
  {
    kind: 'legReadError',
    within: true,
    fact: '§4.3 §8(7): a failed read is retried on another leg while the region is in sync (the leg is failed with READ_ERROR), else it fails with EIO',
    reported: LEG_REPORTS,
    needsQuiet: true,
  },
  // ----- dead legs --------------------------------------------------------------------
  {
    kind: 'legFail',
    features: NO_HANDLE,
    within: false,
    fact: '§3.4 §4.5 §8(5): without handle_errors a resync that fails (to or from a dead leg) is recorded in sync, and kcopyd writes its stale pages: the legs differ in a region the log calls in sync',
    allowed: [...DATA_LOSS, 'read-stability'],
    reported: LEG_REPORTS,
  },
  {
    kind: 'legFail',
    role: 'default',
    features: ['keep_log'],
    within: false,
    fact: '§4.6: with keep_log the default switches away from a failed default even while out of sync, so reads and the resync may come from a stale leg',
    allowed: [...DATA_LOSS, 'read-stability'],
    reported: LEG_REPORTS_HANDLED,
  },
  {
    kind: 'legFail',
    features: ['keep_log'],
    within: true,
    fact: '§4.4 §4.5 §4.6: with keep_log writes a dead non-default leg misses are acknowledged from the others (regions NOSYNC) and failed resyncs stay out of sync; if the dead leg is the table’s first, a reboot of the same table would resync from it',
    reported: LEG_REPORTS_HANDLED,
    leavesOnFirstLeg: 'stale-first-leg',
  },
  {
    kind: 'legFail',
    within: true,
    fact: '§4.4 §4.5 §4.6: with handle_errors writes a dead leg misses are held, failed resyncs leave their regions out of sync, and the default switches only while in sync',
    reported: LEG_REPORTS_HANDLED,
  },
  // ----- the log device -----------------------------------------------------------------
  {
    kind: 'logWriteError',
    logTypes: ['core'],
    within: false,
    fact: '§6: a core log has no log device',
  },
  {
    kind: 'logFail',
    logTypes: ['core'],
    within: false,
    fact: '§6: a core log has no log device',
  },
  {
    kind: 'logWriteError',
    features: NO_HANDLE,
    within: false,
    fact: '§4.4 §4.6: without handle_errors a failed log is ignored and writes proceed without durable marks, so a crash can leave a region clean whose legs differ',
    allowed: [...DATA_LOSS, 'write-ahead-marking', 'clean-before-durable'],
    reported: ['log-status'],
  },
  {
    kind: 'logFail',
    features: NO_HANDLE,
    within: false,
    fact: '§4.4 §4.6: without handle_errors a failed log is ignored and writes proceed without durable marks, so a crash can leave a region clean whose legs differ',
    allowed: [...DATA_LOSS, 'write-ahead-marking', 'clean-before-durable'],
    reported: ['log-status'],
  },
  {
    kind: 'logWriteError',
    within: true,
    fact: '§4.4 §2.6: with handle_errors a failed log flush (sticky log_failure) holds every write to an in-sync region (keep_log: EIO) before it reaches a leg',
    reported: ['log-status'],
  },
  {
    kind: 'logFail',
    within: true,
    fact: '§4.4 §2.5 §8(3): with handle_errors writes to in-sync regions are held (keep_log: EIO) while the log has failed; a log unreadable at resume makes every region out of sync',
    reported: ['log-status'],
  },
  // ----- the userspace log daemon -----------------------------------------------------------
  {
    kind: 'daemonCrash',
    logTypes: ['userspace'],
    integratedFlush: false,
    within: true,
    fact: 'userspace §2.2 §2.7: without integrated_flush a daemon that dies between MARK and FLUSH loses marks; the mirror reconnects and converges, but a machine crash before the next resume may leave a dirty region clean',
    leaves: 'marks-lost',
  },
  {
    kind: 'daemonCrash',
    logTypes: ['userspace'],
    within: true,
    fact: 'userspace §2.7: the kernel reconnects (CTR, RESUME) every 2 s and retries; marks ride in the FLUSH, so none is lost',
  },
  {
    kind: 'ulogMessageLoss',
    logTypes: ['userspace'],
    within: true,
    fact: 'userspace §3: a lost request or reply is resent after the 15 s timeout; the daemon answers a duplicate sequence number again',
  },
  {
    kind: 'ulogLateReply',
    logTypes: ['userspace'],
    within: true,
    fact: 'userspace §3: a reply after the resend is matched by sequence number; the stale one is dropped',
  },
  {
    kind: 'daemonCrash',
    within: false,
    fact: 'only a userspace log has a daemon',
  },
  {
    kind: 'ulogMessageLoss',
    within: false,
    fact: 'only a userspace log has a daemon',
  },
  {
    kind: 'ulogLateReply',
    within: false,
    fact: 'only a userspace log has a daemon',
  },
];

/** The verdict for `kind`, injected into `role`, on `profile`. */
export function faultExpectation(
  profile: MirrorProfile,
  kind: FaultKind,
  role: LegRole,
): FaultExpectation {
  const row = ROWS.find(
    (candidate) =>
      candidate.kind === kind &&
      (candidate.role === undefined || candidate.role === role) &&
      (candidate.logTypes === undefined || candidate.logTypes.includes(profile.logType)) &&
      (candidate.features === undefined || candidate.features.includes(profile.features)) &&
      (candidate.integratedFlush === undefined ||
        candidate.integratedFlush === profile.integratedFlush),
  );
  if (row === undefined) throw new RangeError(`No fault-budget row for ${kind} on ${role}`);
  return {
    kind,
    within: row.within,
    fact: row.fact,
    allowed: row.allowed ?? [],
    reported: row.reported ?? [],
    needsQuiet: row.needsQuiet ?? false,
    leaves: row.leaves ?? null,
    leavesOnFirstLeg: row.leavesOnFirstLeg ?? null,
  };
}

/**
 * Whether the profile can have `kind` injected at all: a core log has no
 * log device, and a userspace log's device is its daemon's (not yet judged).
 */
export function faultApplies(profile: MirrorProfile, kind: FaultKind): boolean {
  // A userspace log's device belongs to its daemon: how the daemon answers its failures is not
  // modelled against Linux here yet, so those faults are left out rather than judged.
  if (kind === 'logWriteError' || kind === 'logFail') return profile.logType === 'disk';
  if (kind === 'daemonCrash' || kind === 'ulogMessageLoss' || kind === 'ulogLateReply') {
    return profile.logType === 'userspace';
  }
  return true;
}

/** What the log resyncs after a crash: every region, the ones dirty on disk, or none. */
export type ResyncPlan = 'all' | 'dirty' | 'none';

/** What a machine crash must do on a profile, and whether it is within budget. */
export interface CrashExpectation {
  readonly within: boolean;
  readonly resync: ResyncPlan;
  /** Legs may differ after recovery (reported as an expected divergence, not a failure). */
  readonly legsMayDiffer: boolean;
  readonly fact: string;
  /** For a beyond-budget crash: what the documented outcome may break. */
  readonly allowed: readonly ViolationKind[];
}

/**
 * What a machine crash (then a reboot of the last loaded table, resume and
 * recovery) must do. `logReadable` is false when the log device fails at
 * the reboot (§8(3): every region is then out of sync).
 */
export function crashExpectation(
  profile: MirrorProfile,
  context: {
    readonly mode: TableMode;
    readonly hazards: ReadonlySet<Hazard>;
    readonly logReadable: boolean;
  },
): CrashExpectation {
  const resync = resyncPlan(profile.logType, context.mode, context.logReadable);
  const legsMayDiffer = context.mode === 'nosync';
  const base = legsMayDiffer
    ? '§2.5 §5.5: a nosync table ignores the on-disk state at every activation, so after a crash nothing is resynced and the legs may differ'
    : resync === 'all'
      ? '§2.5 §5.5: a core log (or a sync table, or an unreadable disk log, §8(3)) resyncs every region after a crash'
      : '§2.5 §5.3: a disk log resyncs exactly the regions whose clean bit is 0 on disk, from the default leg';
  if (context.hazards.has('stale-first-leg')) {
    return {
      within: false,
      resync,
      legsMayDiffer,
      fact: '§4.4 (source comment) §5.6: a write was acknowledged without the table’s first leg; booting that table makes it the default leg and the recovery source',
      allowed: [...DATA_LOSS, 'read-stability'],
    };
  }
  if (context.hazards.has('volatile-first-leg')) {
    return {
      within: false,
      resync,
      legsMayDiffer,
      fact: VOLATILE_FIRST_LEG_FACT,
      allowed: [...DATA_LOSS, 'read-stability'],
    };
  }
  if (context.hazards.has('stale-log') && context.logReadable) {
    return {
      within: false,
      resync,
      legsMayDiffer,
      fact: STALE_LOG_FACT,
      allowed: [...DATA_LOSS, 'read-stability', 'write-ahead-marking'],
    };
  }
  if (context.hazards.has('marks-lost')) {
    return {
      within: false,
      resync,
      legsMayDiffer,
      fact: 'userspace §2.2: a daemon crash without integrated_flush lost queued marks, so a region may be clean on disk while its legs differ',
      allowed: [...DATA_LOSS, 'read-stability'],
    };
  }
  if (profile.logType === 'userspace' && profile.writeCache) {
    return {
      within: false,
      resync,
      legsMayDiffer,
      fact: 'userspace §2.2 (userspace-log.ts): the userspace log never calls the mirror’s leg flush, so a daemon can make a clean bit durable before the legs’ cached data',
      allowed: [...DATA_LOSS, 'read-stability', 'clean-before-durable'],
    };
  }
  return { within: true, resync, legsMayDiffer, fact: base, allowed: [] };
}

function resyncPlan(logType: FuzzLogType, mode: TableMode, logReadable: boolean): ResyncPlan {
  if (mode === 'nosync') return 'none';
  if (mode === 'sync') return 'all';
  if (logType === 'core') return 'all';
  return logReadable ? 'dirty' : 'all';
}
