/**
 * One log a daemon serves: a backing {@link DirtyLog} of any registered
 * type, plus the bookkeeping cmirrord keeps beside its bitmaps (reference
 * userspace-and-cluster-logs.md §4.6) so that the requests a kernel may
 * repeat — a resend after its 15 s timeout, a duplicate — stay harmless:
 *
 * - MARK and CLEAR are idempotent; a clear sets the clean bit only when
 *   the region is in sync, so a daemon that lost its state (and so its
 *   sync bits) never records clean a region whose legs may differ;
 * - GET_RESYNC_WORK gives the same region again until SET_REGION_SYNC
 *   settles it ("re-requesting work"), so a lost reply cannot strand a
 *   region the backing log marked as recovering;
 * - SET_REGION_SYNC(r, 1) on a region already in sync does nothing
 *   (cmirrord checks the bit; a core log would over-count);
 * - IS_REMOTE_RECOVERING answers "recovering" for any region not in sync,
 *   `{0, region_count}` after PRESUSPEND, and cmirrord's hint: the resync
 *   cursor less one (`sync_search - 1`, the region count once the cursor
 *   has passed the end). A region asked about while out of sync goes on a
 *   priority list that GET_RESYNC_WORK serves first, so a write waiting
 *   on a region ahead of the cursor pulls it forward, and a region that
 *   went out of sync behind the cursor never holds a write back: the
 *   kernel caches the hint and lets writes below it through (§2.5). (A
 *   hint of "the first region not in sync" would requeue every write to
 *   such a region for as long as the mirror stays up.)
 * - a second RESUME without a suspend in between does nothing (cmirrord's
 *   "additional resume issued before suspend"), so a duplicate cannot make
 *   a disk log re-read its bitmap and forget what it learned since.
 */
import { assert } from '../../../assert.js';
import type { Blocking } from '../../../concurrency/blocking.js';
import { EINVAL } from '../../../errno.js';
import type { DirtyLog } from '../../dirty-log.js';

/** A request's outcome before it becomes a reply: 0 or a negative errno, and data. */
export interface DaemonResult {
  readonly error: number;
  readonly data?: Uint8Array;
}

/** `{i, r}` of GET_RESYNC_WORK, or an error. */
export interface DaemonResyncWork {
  readonly error: number;
  readonly result: number;
  readonly region: number;
}

/** Where a served log is in its life: built by CTR, resumed, or suspended (after POSTSUSPEND). */
export type DaemonLogState = 'constructed' | 'resumed' | 'suspended';

/** A served log: its identity, its backing log, and cmirrord-style bookkeeping. */
export class DaemonLog {
  readonly uuid: string;
  readonly luid: bigint;
  /** The CTR string it was built from (`<length> <type> <args…>`). */
  readonly ctrString: string;
  readonly backing: DirtyLog;
  readonly regionCount: number;
  private lifeState: DaemonLogState = 'constructed';
  /** `recovering_region`: handed out by GET_RESYNC_WORK and not yet settled; null for none. */
  private recoveringRegion: number | null = null;
  /** `recovery_halted`: PRESUSPEND until RESUME. */
  private recoveryHalted = false;
  /**
   * `sync_search`: one past the last region the backing log handed out,
   * `region_count + 1` once it had no more (cmirrord's 34cbedcea), 0 after
   * resume. Priority regions do not move it.
   */
  private syncSearch = 0;
  /** `recovery_request_list`: regions a write waits on, served last-in first-out. */
  private readonly recoveryRequests: number[] = [];

  constructor(options: {
    readonly uuid: string;
    readonly luid: bigint;
    readonly ctrString: string;
    readonly backing: DirtyLog;
    readonly targetLengthSectors: number;
  }) {
    this.uuid = options.uuid;
    this.luid = options.luid;
    this.ctrString = options.ctrString;
    this.backing = options.backing;
    const regionSize = options.backing.getRegionSize();
    assert(regionSize > 0, `backing log region size ${regionSize} is not positive`);
    this.regionCount = Math.ceil(options.targetLengthSectors / regionSize);
  }

  /** Built, resumed, or suspended. */
  get state(): DaemonLogState {
    return this.lifeState;
  }

  /** The region a GET_RESYNC_WORK handed out and no SET_REGION_SYNC settled yet, or null. */
  get recovering(): number | null {
    return this.recoveringRegion;
  }

  /** `-EINVAL` unless every region is below the region count (cmirrord's bounds check). */
  checkRegions(regions: readonly bigint[]): number {
    const count = BigInt(this.regionCount);
    return regions.every((region) => region < count) ? 0 : EINVAL;
  }

  /** PRESUSPEND: recovery is halted until the next RESUME. */
  *presuspend(): Blocking<number> {
    this.recoveryHalted = true;
    if (this.backing.presuspend === undefined) return 0;
    return yield* this.backing.presuspend();
  }

  /** POSTSUSPEND: the backing log's own postsuspend (a disk log flushes). */
  *postsuspend(): Blocking<number> {
    this.lifeState = 'suspended';
    if (this.backing.postsuspend === undefined) return 0;
    return yield* this.backing.postsuspend();
  }

  /** RESUME; a repeat while already resumed (and not presuspended since) does nothing. */
  *resume(): Blocking<number> {
    if (this.lifeState === 'resumed' && !this.recoveryHalted) return 0;
    this.recoveryHalted = false;
    this.recoveringRegion = null;
    this.syncSearch = 0;
    const result = yield* this.backing.resume();
    this.lifeState = 'resumed';
    return result;
  }

  /** MARK, or the marks of an integrated FLUSH: clears the clean bits. */
  mark(regions: readonly number[]): void {
    for (const region of regions) this.backing.markRegion(region);
  }

  /** CLEAR: sets a clean bit only where the region is in sync. */
  *clear(regions: readonly number[]): Blocking<void> {
    for (const region of regions) {
      if ((yield* this.backing.inSync(region, true)) === 1) this.backing.clearRegion(region);
    }
  }

  /**
   * GET_RESYNC_WORK: the same region again while one is handed out
   * ("re-requesting work"); nothing once the cursor has passed the end;
   * then the newest priority region still out of sync; then the backing
   * log's next region. `clog_get_resync_work` checks the cursor first,
   * which strands the last region when the reply handing it out is lost:
   * the kernel's resend (a new seq, §3) is told "recovery finished" while
   * the region stays out of sync and every write to it is requeued. The
   * re-request comes first here, so a resend gets the region again.
   */
  *getResyncWork(): Blocking<DaemonResyncWork> {
    if (this.recoveringRegion !== null) {
      return { error: 0, result: 1, region: this.recoveringRegion };
    }
    if (this.syncSearch >= this.regionCount) return { error: 0, result: 0, region: 0 };
    for (let region = this.recoveryRequests.pop(); region !== undefined; ) {
      if ((yield* this.backing.inSync(region, true)) !== 1) return this.handOut(region);
      region = this.recoveryRequests.pop();
    }
    const work = yield* this.backing.getResyncWork();
    if (work.result === 0) this.syncSearch = this.regionCount + 1;
    // No work (0) and a failure (a negative errno) both hand nothing out: the error is the result.
    if (work.result <= 0) return { error: work.result, result: 0, region: 0 };
    assert(
      work.region >= 0 && work.region < this.regionCount,
      `backing log handed out region ${work.region} of ${this.regionCount}`,
    );
    this.syncSearch = work.region + 1;
    return this.handOut(work.region);
  }

  /** Records `region` as the one being recovered and answers it. */
  private handOut(region: number): DaemonResyncWork {
    assert(this.recoveringRegion === null, 'a second region handed out while one recovers');
    this.recoveringRegion = region;
    return { error: 0, result: 1, region };
  }

  /** SET_REGION_SYNC: settles a handed-out region; idempotent for in_sync = 1. */
  *setRegionSync(region: number, inSync: boolean): Blocking<void> {
    // cmirrord clears recovering_region whatever region is named; only the named one is safer
    // when an old duplicate arrives after the next region was handed out.
    if (this.recoveringRegion === region) this.recoveringRegion = null;
    if (inSync && (yield* this.backing.inSync(region, true)) === 1) return;
    yield* this.backing.setRegionSync(region, inSync);
  }

  /**
   * IS_REMOTE_RECOVERING: `{is_recovering, in_sync_hint}` as
   * `clog_is_remote_recovering` answers, with a region out of sync and not
   * being recovered put on the priority list once.
   */
  *isRemoteRecovering(region: number): Blocking<{ recovering: number; hint: number }> {
    if (this.recoveryHalted) return { recovering: 0, hint: this.regionCount };
    const recovering = (yield* this.backing.inSync(region, true)) === 1 ? 0 : 1;
    if (
      recovering === 1 &&
      region !== this.recoveringRegion &&
      !this.recoveryRequests.includes(region)
    ) {
      this.recoveryRequests.push(region);
    }
    assert(
      this.recoveryRequests.length <= this.regionCount,
      'the priority list holds a region twice',
    );
    return { recovering, hint: this.syncSearch > 0 ? this.syncSearch - 1 : 0 };
  }
}
