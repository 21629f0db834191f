/**
 * The kernel side of the `userspace` dirty log, `dm-log-userspace-base.c`
 * (reference userspace-and-cluster-logs.md §2, dm-mirror.md §2.8): a shim
 * that forwards every dirty-log method to a daemon through the transfer
 * layer ({@link UlogTransfer}).
 *
 * - Marks and clears are only queued; `flush` sends the clears first, then
 *   the marks, in groups of at most 32, then a FLUSH — or, with
 *   `integrated_flush`, the marks ride in the FLUSH itself and a clear-only
 *   flush defers its FLUSH by 3 s (§2.2, §2.3).
 * - `in_sync` without blocking answers "would block", so every read goes
 *   through kmirrord (§2.4).
 * - `is_remote_recovering` is rate limited by one deadline shared by every
 *   userspace log on the kernel, and short-cut by `in_sync_hint` (§2.5).
 * - A failed exchange gives a conservative answer: not clean, not in sync,
 *   sync count 0, recovering, no resync work (§2.6).
 * - `-ESRCH` (no daemon) starts the reconnect loop: every 2 s a CTR with
 *   the saved string, then RESUME, then the original request again (§2.7).
 *
 * Linux's userspace log never calls the mirror's flush callback (the leg
 * PREFLUSH a disk log issues before it records regions clean), and neither
 * can a daemon. So with volatile leg caches a daemon's disk log can make a
 * clean bit durable before the legs' data is: a machine crash can then
 * leave a clean region whose legs differ. The simulator keeps that hazard.
 */
import { assert } from '../../assert.js';
import { type Blocking, waitFor } from '../../concurrency/blocking.js';
import { EINVAL, ESRCH, EWOULDBLOCK, errnoName } from '../../errno.js';
import { TICKS_PER_SECOND } from '../../world/scheduler.js';
import { settled } from '../_internals/settled.js';
import type { DirtyLog, DirtyLogContext, ResyncWork, StatusType } from '../dirty-log.js';
import { DelayedWork } from './_internals/delayed-work.js';
import {
  decodeUlogRemoteRecovering,
  decodeUlogResyncWork,
  decodeUlogS64,
  decodeUlogU64,
  encodeUlogRegionSync,
  encodeUlogRegions,
  encodeUlogU64,
} from './ulog-binary-payloads.js';
import { MAX_FLUSH_GROUP_COUNT, ULOG_REPLY_PAYLOAD_BYTES_MAX } from './ulog-constants.js';
import { type UlogConstructor, ulogStatusTable } from './ulog-constructor.js';
import { UlogProtocolError } from './ulog-protocol-error.js';
import { UlogRequestType, type UlogRequestTypeCode } from './ulog-request-type.js';
import { decodeUlogStatus, encodeUlogCtrRequest } from './ulog-text-payloads.js';
import type { UlogConsultResult, UlogTransfer } from './ulog-transfer.js';

/** The registered name. */
export const USERSPACE_LOG_TYPE_NAME = 'userspace';
/** `flush_log_work`'s delay: a clear-only integrated flush commits 3 s later (§2.3). */
export const ULOG_DEFERRED_FLUSH_TICKS = 3 * TICKS_PER_SECOND;
/** `schedule_timeout(2*HZ)` between reconnect attempts (§2.7). */
export const ULOG_RECONNECT_INTERVAL_TICKS = 2 * TICKS_PER_SECOND;
/** HZ/4: `is_remote_recovering` asks the daemon at most once per window (§2.5). */
export const ULOG_REMOTE_RECOVERING_LIMIT_TICKS = TICKS_PER_SECOND / 4;

/** What `userspace_ctr` resolved before the log exists. */
export interface UserspaceLogSetup {
  readonly context: DirtyLogContext;
  readonly transfer: UlogTransfer;
  readonly ctr: UlogConstructor;
  readonly luid: bigint;
  /** From `GET_REGION_SIZE`, truncated to u32 as the kernel does. */
  readonly regionSizeSectors: number;
  /** The device name a CTR reply named (opened with `dm_get_device`), or null. */
  readonly logDeviceName: string | null;
}

/** Counters of what one userspace log did. */
export interface UserspaceLogStats {
  /** `flush` calls that had something to send. */
  flushes: number;
  /** `flush` calls with both lists empty: nothing sent, not even a FLUSH. */
  emptyFlushes: number;
  /** Clears dropped because their entry could not be allocated (injected). */
  clearsDropped: number;
  /** Clear-only integrated flushes that queued the deferred FLUSH. */
  deferredFlushesQueued: number;
  /** Deferred FLUSHes that ran (by timer, postsuspend or dtr). */
  deferredFlushesRun: number;
  /** Group requests that failed and fell back to one region per request. */
  groupFallbacks: number;
  /** Completed reconnects (CTR and RESUME after `-ESRCH`). */
  reconnects: number;
}

const EMPTY = new Uint8Array(0);

/** One `userspace` log instance (`struct log_c`). Build it through the registry. */
export class UserspaceLog implements DirtyLog {
  readonly typeName = USERSPACE_LOG_TYPE_NAME;
  readonly uuid: string;
  /** `lc->luid`: tells this instance from another table's log with the same uuid. */
  readonly luid: bigint;
  readonly integratedFlush: boolean;
  readonly regionSizeSectors: number;
  readonly regionCount: number;
  readonly logDeviceName: string | null;
  readonly transfer: UlogTransfer;
  readonly stats: UserspaceLogStats = {
    flushes: 0,
    emptyFlushes: 0,
    clearsDropped: 0,
    deferredFlushesQueued: 0,
    deferredFlushesRun: 0,
    groupFallbacks: 0,
    reconnects: 0,
  };
  /**
   * Fault injection, off (null) by default: when it returns true for a
   * region, `clear_region`'s GFP_ATOMIC allocation fails and the clear is
   * dropped (logged). Safe: the region stays dirty and resyncs at the next
   * activation (§2.2).
   */
  clearAllocationFails: ((region: number) => boolean) | null = null;

  private readonly context: DirtyLogContext;
  private readonly ctr: UlogConstructor;
  /** `mark_list` and `clear_list` in the order entries were queued (Linux sends newest first). */
  private markList: number[] = [];
  private clearList: number[] = [];
  /** `in_sync_hint`: the first region that may still need recovery. */
  private inSyncHintRegion = 0;
  /** `sched_flush`: a deferred FLUSH is scheduled. */
  private schedFlush = false;
  /** `flush_log_work` on `dmlogd`; only with integrated flush. */
  private readonly flushLogWork: DelayedWork | null;
  private destroyed = false;

  /** `userspace_ctr` after its two round trips; prefer {@link createDirtyLog} with the type name. */
  constructor(setup: UserspaceLogSetup) {
    assert(setup.regionSizeSectors > 0, 'region size must be positive');
    this.context = setup.context;
    this.transfer = setup.transfer;
    this.ctr = setup.ctr;
    this.uuid = setup.ctr.uuid;
    this.luid = setup.luid;
    this.integratedFlush = setup.ctr.integratedFlush;
    this.regionSizeSectors = setup.regionSizeSectors;
    this.regionCount = Math.ceil(setup.context.targetLengthSectors / setup.regionSizeSectors);
    this.logDeviceName = setup.logDeviceName;
    this.flushLogWork = this.integratedFlush
      ? new DelayedWork(this.context.scheduler, 'ulog.deferred_flush', () => this.doFlush())
      : null;
  }

  // ----- lifecycle -------------------------------------------------------

  /** `userspace_dtr`: runs a pending deferred flush, then DTR (its answer ignored). */
  *destroy(): Blocking<void> {
    assert(!this.destroyed, `userspace log ${this.uuid} destroyed twice`);
    if (this.flushLogWork !== null && this.schedFlush) yield* this.flushLogWork.flush();
    this.destroyed = true;
    yield* this.transfer.consult(this.request(UlogRequestType.DTR));
  }

  /** `userspace_presuspend`: PRESUSPEND, straight to the transfer layer (no reconnect). */
  *presuspend(): Blocking<number> {
    return (yield* this.transfer.consult(this.request(UlogRequestType.PRESUSPEND))).error;
  }

  /** `userspace_postsuspend`: a pending deferred flush runs first (§2.3), then POSTSUSPEND. */
  *postsuspend(): Blocking<number> {
    if (this.flushLogWork !== null && this.schedFlush) yield* this.flushLogWork.flush();
    return (yield* this.transfer.consult(this.request(UlogRequestType.POSTSUSPEND))).error;
  }

  /** `userspace_resume`: resets `in_sync_hint`, then RESUME (no reconnect). */
  *resume(): Blocking<number> {
    this.inSyncHintRegion = 0;
    return (yield* this.transfer.consult(this.request(UlogRequestType.RESUME))).error;
  }

  // ----- queries ---------------------------------------------------------

  /** `userspace_get_region_size`: cached from the constructor. */
  getRegionSize(): number {
    return this.regionSizeSectors;
  }

  /** `userspace_is_clean`: asks the daemon; 0 (not clean) on any failure. */
  *isClean(region: number): Blocking<number> {
    this.checkRegion(region);
    const result = yield* this.doRequest(UlogRequestType.IS_CLEAN, encodeUlogU64(region), 8);
    return result.error === 0 ? int32(decodeUlogS64(result.data)) : 0;
  }

  /**
   * `userspace_in_sync`: "would block" at once when it may not block (so
   * dm-raid1 queues reads to kmirrord); otherwise asks the daemon, never a
   * cache, and answers 0 on any failure (§2.4).
   */
  inSync(region: number, canBlock: boolean): Blocking<number> {
    this.checkRegion(region);
    if (!canBlock) return settled(EWOULDBLOCK);
    return this.inSyncBlocking(region);
  }

  /** `userspace_get_sync_count`: 0 on failure; a full count sets `in_sync_hint` to the end. */
  *getSyncCount(): Blocking<number> {
    const result = yield* this.doRequest(UlogRequestType.GET_SYNC_COUNT, EMPTY, 8);
    if (result.error !== 0) return 0;
    const count = decodeUlogU64(result.data);
    if (count >= BigInt(this.regionCount)) this.inSyncHintRegion = this.regionCount;
    return bigToNumber(count);
  }

  /**
   * `userspace_get_resync_work`: no work, without asking, once
   * `in_sync_hint` has reached the end; otherwise the daemon's answer.
   */
  *getResyncWork(): Blocking<ResyncWork> {
    if (this.inSyncHintRegion >= this.regionCount) return { result: 0, region: -1 };
    const result = yield* this.doRequest(UlogRequestType.GET_RESYNC_WORK, EMPTY, 16);
    if (result.error !== 0) return { result: result.error, region: -1 };
    const work = decodeUlogResyncWork(result.data);
    if (work.result === 0n) return { result: 0, region: -1 };
    if (work.result !== 1n || work.region >= BigInt(this.regionCount)) {
      // Linux would hand garbage to the region hash; the simulator reports no work instead.
      this.message('error', `Bad resync work from userspace: {${work.result}, ${work.region}}`);
      return { result: EINVAL, region: -1 };
    }
    return { result: 1, region: Number(work.region) };
  }

  /** `userspace_set_region_sync`: fire and forget; errors are ignored. */
  *setRegionSync(region: number, inSync: boolean): Blocking<void> {
    this.checkRegion(region);
    const data = encodeUlogRegionSync({ region, inSync: inSync ? 1 : 0 });
    yield* this.doRequest(UlogRequestType.SET_REGION_SYNC, data, 0);
  }

  /**
   * `userspace_is_remote_recovering` (§2.5): 0 below `in_sync_hint`; 1
   * ("assume recovering") while the shared rate-limit window is open;
   * otherwise opens the window, asks, keeps the hint, and answers — 1 on
   * any failure.
   */
  *isRemoteRecovering(region: number): Blocking<number> {
    this.checkRegion(region);
    if (region < this.inSyncHintRegion) return 0;
    const now = this.context.scheduler.now();
    if (this.transfer.remoteRecoveringLimitTicks > now) return 1;
    this.transfer.remoteRecoveringLimitTicks = now + ULOG_REMOTE_RECOVERING_LIMIT_TICKS;
    const result = yield* this.doRequest(
      UlogRequestType.IS_REMOTE_RECOVERING,
      encodeUlogU64(region),
      16,
    );
    if (result.error !== 0) return 1;
    const answer = decodeUlogRemoteRecovering(result.data);
    this.inSyncHintRegion = bigToNumber(answer.inSyncHint);
    return int32(answer.isRecovering);
  }

  /**
   * `userspace_status`: INFO comes from the daemon, `userspace 1
   * COM_FAILURE` when it cannot be had; TABLE is rebuilt here from the
   * saved constructor string (§2.6).
   */
  *status(type: StatusType): Blocking<string> {
    if (type === 'table') return ulogStatusTable(this.ctr);
    const result = yield* this.doRequest(
      UlogRequestType.STATUS_INFO,
      EMPTY,
      ULOG_REPLY_PAYLOAD_BYTES_MAX,
    );
    if (result.error === 0) {
      try {
        return decodeUlogStatus(result.data);
      } catch (error) {
        if (!(error instanceof UlogProtocolError)) throw error;
      }
    }
    return `${this.typeName} 1 COM_FAILURE`;
  }

  // ----- marks, clears and the flush ----------------------------------------

  /** `userspace_mark_region`: queues the mark; its allocation never fails. */
  markRegion(region: number): void {
    this.checkRegion(region);
    this.markList.push(region);
  }

  /** `userspace_clear_region`: queues the clear, unless the (injected) allocation fails. */
  clearRegion(region: number): void {
    this.checkRegion(region);
    if (this.clearAllocationFails?.(region) === true) {
      this.stats.clearsDropped++;
      this.message('error', 'Failed to allocate memory to clear region.');
      return;
    }
    this.clearList.push(region);
  }

  /** Marks and clears queued and not yet sent (for tests). */
  get queued(): { readonly marks: readonly number[]; readonly clears: readonly number[] } {
    return { marks: [...this.markList], clears: [...this.clearList] };
  }

  /** `in_sync_hint` (for tests). */
  get inSyncHint(): number {
    return this.inSyncHintRegion;
  }

  /** `sched_flush` (for tests). */
  get deferredFlushScheduled(): boolean {
    return this.schedFlush;
  }

  /**
   * `userspace_flush` (§2.2, §2.3): nothing at all when both lists are
   * empty; clears first; then marks and a FLUSH, or FLUSH-with-marks; the
   * deferred-flush toggle. Entries are dropped whatever happens, and a
   * failure raises a table event.
   */
  *flush(): Blocking<number> {
    // The lists are taken whole first; Linux's are newest first, so reverse the queue order.
    const marks = this.markList.reverse();
    const clears = this.clearList.reverse();
    this.markList = [];
    this.clearList = [];
    if (marks.length === 0 && clears.length === 0) {
      this.stats.emptyFlushes++;
      return 0;
    }
    this.stats.flushes++;
    const result = yield* this.flushLists(marks, clears);
    if (result !== 0) this.context.raiseEvent(`userspace log flush failed: ${errnoName(result)}`);
    return result;
  }

  private *flushLists(marks: readonly number[], clears: readonly number[]): Blocking<number> {
    let result = yield* this.flushByGroup(clears, UlogRequestType.CLEAR_REGION, false);
    if (result !== 0) return result;
    if (!this.integratedFlush) {
      result = yield* this.flushByGroup(marks, UlogRequestType.MARK_REGION, false);
      if (result !== 0) return result;
      return (yield* this.doRequest(UlogRequestType.FLUSH, EMPTY, 0)).error;
    }
    result = yield* this.flushByGroup(marks, UlogRequestType.FLUSH, true);
    if (result !== 0) return result;
    assert(this.flushLogWork !== null, 'integrated flush without its deferred work');
    if (marks.length === 0 && !this.schedFlush) {
      this.flushLogWork.queue(ULOG_DEFERRED_FLUSH_TICKS);
      this.schedFlush = true;
      this.stats.deferredFlushesQueued++;
    } else {
      // Linux's reasoning: a FLUSH went out with the marks. With only clears and a flush already
      // scheduled this cancels it too and sends none (§2.3, inference); reproduced as it is.
      this.flushLogWork.cancel();
      this.schedFlush = false;
    }
    return 0;
  }

  /**
   * `flush_by_group`: ≤32 regions per request. Without payload-in-FLUSH, a
   * failed group sends every region taken so far (earlier groups too, as
   * Linux's private list keeps them) and the rest one per request,
   * stopping at the first failure. An integrated FLUSH that fails stops.
   */
  private *flushByGroup(
    list: readonly number[],
    type: UlogRequestTypeCode,
    withPayload: boolean,
  ): Blocking<number> {
    let rest = list;
    // `tmp_list`: entries move to its head as they are taken, so it is in reverse.
    const taken: number[] = [];
    while (rest.length > 0) {
      const group = rest.slice(0, MAX_FLUSH_GROUP_COUNT);
      rest = rest.slice(group.length);
      for (const region of group) taken.unshift(region);
      const result = yield* this.doRequest(type, encodeUlogRegions(group), 0);
      if (result.error === 0) continue;
      if (withPayload) return result.error;
      this.stats.groupFallbacks++;
      return yield* this.flushOneByOne([...taken, ...rest], type);
    }
    assert(taken.length === list.length, 'flush_by_group lost entries');
    return 0;
  }

  /** `flush_one_by_one`: one region per request until one fails. */
  private *flushOneByOne(list: readonly number[], type: UlogRequestTypeCode): Blocking<number> {
    for (const region of list) {
      const result = yield* this.doRequest(type, encodeUlogRegions([region]), 0);
      if (result.error !== 0) return result.error;
    }
    return 0;
  }

  /** `do_flush`, the deferred work: a payload-less FLUSH; a failure raises a table event. */
  private *doFlush(): Blocking<void> {
    this.schedFlush = false;
    this.stats.deferredFlushesRun++;
    const result = yield* this.doRequest(UlogRequestType.FLUSH, EMPTY, 0);
    if (result.error !== 0) {
      this.context.raiseEvent(`userspace log deferred flush failed: ${errnoName(result.error)}`);
    }
  }

  // ----- requests ----------------------------------------------------------

  private *inSyncBlocking(region: number): Blocking<number> {
    const result = yield* this.doRequest(UlogRequestType.IN_SYNC, encodeUlogU64(region), 8);
    return result.error === 0 ? int32(decodeUlogS64(result.data)) : 0;
  }

  /**
   * `userspace_do_request` (§2.7): the request; on `-ESRCH`, every 2 s a CTR
   * with the saved string until one succeeds, then RESUME, then the
   * request again. A failed RESUME gives `-ESRCH`. Any other error goes
   * back to the caller. Like Linux, it never gives up while no daemon
   * answers; the simulation's step budget bounds it.
   */
  private *doRequest(
    type: UlogRequestTypeCode,
    data: Uint8Array,
    replyBytesMax: number,
  ): Blocking<UlogConsultResult> {
    assert(!this.destroyed, `request ${type} on a destroyed userspace log`);
    for (;;) {
      const result = yield* this.transfer.consult(this.request(type, data, replyBytesMax));
      if (result.error !== ESRCH) return result;
      this.message('error', ' Userspace log server not found.');
      yield* this.reconnectCtr();
      this.message('info', 'Reconnected to userspace log server... DM_ULOG_CTR complete');
      const resumed = yield* this.transfer.consult(this.request(UlogRequestType.RESUME));
      if (resumed.error !== 0) {
        this.message('error', `Error trying to resume userspace log: ${resumed.error}`);
        return { error: ESRCH, data: EMPTY };
      }
      this.stats.reconnects++;
    }
  }

  /** The reconnect loop's CTR, with the NUL and no reply buffer (§2.7). */
  private *reconnectCtr(): Blocking<void> {
    const data = encodeUlogCtrRequest(this.ctr.ctrString, true);
    for (;;) {
      yield* waitFor<void>((resume) => {
        this.context.scheduler.schedule(ULOG_RECONNECT_INTERVAL_TICKS, 'ulog.reconnect', () =>
          resume(undefined),
        );
      });
      this.message('warning', 'Attempting to contact userspace log server...');
      const result = yield* this.transfer.consult(this.request(UlogRequestType.CTR, data, 0));
      if (result.error === 0) return;
    }
  }

  private request(type: UlogRequestTypeCode, data: Uint8Array = EMPTY, replyBytesMax = 0) {
    return { uuid: this.uuid, luid: this.luid, requestType: type, data, replyBytesMax };
  }

  private checkRegion(region: number): void {
    if (!(Number.isInteger(region) && region >= 0 && region < this.regionCount)) {
      throw new RangeError(
        `Region ${region} is out of range for a ${this.regionCount}-region userspace log: expected an integer from 0 to ${this.regionCount - 1}`,
      );
    }
  }

  private message(level: 'error' | 'warning' | 'info', text: string): void {
    this.transfer.messages.push({ timeTicks: this.context.scheduler.now(), level, text });
  }
}

/** `(int)value`: the kernel truncates a reply's s64 to an int. */
function int32(value: bigint): number {
  return Number(BigInt.asIntN(32, value));
}

/** A u64 count or region as a number (exact up to 2^53; regions never get near). */
function bigToNumber(value: bigint): number {
  // Stryker disable next-line EqualityOperator: equivalent — at the limit both arms give 2^53 - 1.
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}
