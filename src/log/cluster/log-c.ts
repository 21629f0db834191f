/**
 * cmirrord's per-log state, `struct log_c`, and the request handlers of
 * `functions.c` that act on it (reference userspace-and-cluster-logs.md
 * §4.5–§4.7). Every node keeps one replica and applies every multicast
 * request to it in the agreed order; only the server's FLUSH writes the
 * log device. Each handler is named after its cmirrord function.
 *
 * Regions past the log are refused with -EINVAL here for every request;
 * cmirrord checks only IN_SYNC and IS_REMOTE_RECOVERING (and there with
 * `>`, an off-by-one fixed by cdcb75919, which this follows) and reads or
 * writes past its bitmaps for the others. Kernels never send such
 * regions, and every replica refuses them alike.
 */
import { assert } from '../../assert.js';
import type { Blocking } from '../../concurrency/blocking.js';
import { EINVAL, EIO } from '../../errno.js';
import type { ClogCheckpoint } from './clog-checkpoint.js';
import type { ClogCtrArgs, ClogSync } from './clog-ctr.js';
import type { ClogDisk } from './clog-disk.js';
import {
  LogState,
  type LogStateCode,
  RECOVERER_NONE,
  RECOVERING_REGION_NONE,
  RESUME_OVERRIDE_CHECKPOINT,
  RESUME_OVERRIDE_RESUMED,
} from './cluster-constants.js';
import { DmBitset } from './dm-bitset.js';

/** One `struct mark_entry`: `nodeid` has `region` marked. */
export interface MarkEntry {
  readonly region: number;
  readonly nodeid: number;
}

/**
 * `GET_RESYNC_WORK`'s `{i, r}`. With `i` 0, `r` is whatever the handler
 * left there: 0, or `find_next_zero_bit`'s result when the search ran
 * off the end (2^64 − 1 for its -1).
 */
export interface ClogResyncWork {
  readonly result: 0 | 1;
  readonly region: number | bigint;
}

/** One log's replica (see the file comment). Fields keep cmirrord's names in camelCase. */
export class LogC {
  readonly uuid: string;
  readonly luid: bigint;
  readonly regionSize: number;
  readonly regionCount: number;
  readonly sync: ClogSync;
  readonly blockOnError: boolean;
  /** The log device as the table named it (`clustered-disk`), or null. */
  readonly deviceName: string | null;
  /** `disk_fd >= 0`: the log device and its buffer, or null for `clustered-core`. */
  readonly disk: ClogDisk | null;
  readonly cleanBits: DmBitset;
  readonly syncBits: DmBitset;
  syncCount: number;
  /** `mark_list`, newest last. */
  readonly markList: MarkEntry[] = [];
  /** `recovering_region`: -1 for none. */
  recoveringRegion = -1;
  /** `recoverer` (0 from `dm_zalloc`, 2^32 − 1 after a postsuspend). */
  recoverer = 0;
  syncSearch = 0;
  /** `recovery_request_list`, newest last (served last-in first-out). */
  readonly recoveryRequestList: number[] = [];
  /** `in_sync`: fully synced since the last resume (53670b18f). */
  inSync = false;
  recoveryHalted = false;
  touched = false;
  logDevFailed = false;
  resumeOverride = 0;
  state: LogStateCode = LogState.NEW;
  /** `delay`: the time of the last postsuspend in ticks, or null (cmirrord's 0: long ago). */
  delayTicks: number | null = null;
  diskNrRegions = 0n;

  constructor(options: {
    readonly uuid: string;
    readonly luid: bigint;
    readonly args: ClogCtrArgs;
    readonly disk: ClogDisk | null;
  }) {
    const { args } = options;
    this.uuid = options.uuid;
    this.luid = options.luid;
    this.regionSize = args.regionSizeSectors;
    this.regionCount = args.regionCount;
    this.sync = args.sync;
    this.blockOnError = args.blockOnError;
    this.deviceName = args.device;
    this.disk = options.disk;
    assert((this.disk === null) === (args.device === null), 'a disk buffer without a disk log');
    this.cleanBits = new DmBitset(this.regionCount);
    this.syncBits = new DmBitset(this.regionCount);
    if (this.sync === 'nosync') this.syncBits.setAll();
    this.syncCount = this.sync === 'nosync' ? this.regionCount : 0;
  }

  /** -EINVAL unless `region` is a region of this log. */
  checkRegion(region: bigint): number {
    return region < BigInt(this.regionCount) ? 0 : EINVAL;
  }

  /** `clog_presuspend`: `recovery_halted` on this node's copy only. */
  presuspend(): void {
    this.recoveryHalted = true;
  }

  /** `clog_postsuspend`'s state changes (the CPG leave is the caller's). */
  postsuspend(nowTicks: number): void {
    this.state = LogState.SUSPENDED;
    this.recoveringRegion = -1;
    this.recoverer = RECOVERER_NONE;
    this.delayTicks = nowTicks;
  }

  /**
   * `clog_resume`: a master resume (`resume_override` 0) reads the disk
   * log — a bad magic reinitialises, a read error or a failed device
   * counts no region — sets new regions by the sync mode, copies clean to
   * sync and writes the log at once; a non-master resume (3) keeps the
   * checkpoint's bitmaps. Both clear the tail bits and recount.
   */
  *resume(notes: (text: string) => void): Blocking<number> {
    this.inSync = false;
    let error = 0;
    switch (this.resumeOverride) {
      case RESUME_OVERRIDE_RESUMED:
        notes(`[${this.uuid}] Additional resume issued before suspend`);
        return 0;
      case 0:
        this.resumeOverride = RESUME_OVERRIDE_RESUMED;
        error = yield* this.masterResume(notes);
        break;
      case RESUME_OVERRIDE_CHECKPOINT:
        this.resumeOverride = RESUME_OVERRIDE_RESUMED;
        break;
      default:
        notes(`Error:: partial or multiple loading of bits (${this.resumeOverride})`);
        return EINVAL;
    }
    this.clearTailBits(true);
    this.syncCount = this.syncBits.countBits32();
    this.syncSearch = 0;
    this.state = LogState.RESUMED;
    this.recoveryHalted = false;
    return error;
  }

  private *masterResume(notes: (text: string) => void): Blocking<number> {
    this.diskNrRegions = 0n;
    if (this.disk !== null) {
      if (this.logDevFailed) {
        notes('Log device has failed, unable to read bits');
      } else {
        const read = yield* this.disk.read(this.cleanBits);
        if ('diskNrRegions' in read) this.diskNrRegions = read.diskNrRegions;
        else if (read.error === EINVAL)
          notes(`[${this.uuid}] (Re)initializing mirror log - resync issued.`);
        else notes('Failed to read disk log');
      }
    }
    const clean = this.sync === 'nosync';
    // The loop counter is a u32 from disk_nr_regions (a u64), as in clog_resume.
    for (
      let region = Number(BigInt.asUintN(32, this.diskNrRegions));
      region < this.regionCount;
      region++
    ) {
      if (clean) this.cleanBits.set(region);
      else this.cleanBits.clear(region);
      this.touched = true;
    }
    this.clearTailBits(false);
    this.syncBits.copyFrom(this.cleanBits);
    if (this.disk === null) return 0;
    const error = yield* this.writeLog();
    if (error !== 0) notes('Failed initial disk log write');
    this.touched = false;
    return error;
  }

  /** The bits from the region count to the end of its word, cleared (shrunk devices). */
  private clearTailBits(alsoSync: boolean): void {
    for (let bit = this.regionCount; bit % 32 !== 0; bit++) {
      this.cleanBits.clear(bit);
      if (alsoSync) this.syncBits.clear(bit);
      this.touched = true;
    }
  }

  /** `write_log`: a failure sets `log_dev_failed`. */
  *writeLog(): Blocking<number> {
    assert(this.disk !== null, 'write_log on a clustered-core log');
    const error = yield* this.disk.write(this.cleanBits, this.regionCount);
    if (error !== 0) this.logDevFailed = true;
    return error === 0 ? 0 : EIO;
  }

  /** `clog_flush`: nothing unless touched; the server writes the disk; every node clears `touched`. */
  *flush(server: boolean): Blocking<number> {
    if (!this.touched) return 0;
    let error = 0;
    if (server && this.disk !== null) error = yield* this.writeLog();
    this.touched = false;
    return error;
  }

  /** `mark_region`: idempotent per (region, node); the clean bit clears when nobody had it marked. */
  markRegion(region: number, who: number): void {
    let found = false;
    for (const entry of this.markList) {
      if (entry.region !== region) continue;
      found = true;
      if (entry.nodeid === who) return;
    }
    if (!found) this.clearBit(this.cleanBits, region);
    this.markList.push({ region, nodeid: who });
  }

  /** `clear_region`: drops `who`'s mark; clean only when no other node marks it and it is in sync. */
  clearRegion(region: number, who: number): void {
    let otherMatches = false;
    for (let index = this.markList.length - 1; index >= 0; index--) {
      const entry = this.markList[index]!;
      if (entry.region !== region) continue;
      if (entry.nodeid === who) this.markList.splice(index, 1);
      else otherMatches = true;
    }
    if (!otherMatches && this.syncBits.test(region) === 1) this.setBit(this.cleanBits, region);
  }

  /** `clog_is_clean`. */
  isClean(region: number): 0 | 1 {
    return this.cleanBits.test(region);
  }

  /** `clog_in_sync`: the sync bit, or 1 once the mirror was fully synced since resume (53670b18f). */
  inSyncAnswer(region: number): 0 | 1 {
    return this.syncBits.test(region) === 1 || this.inSync ? 1 : 0;
  }

  /**
   * `clog_get_resync_work`, in its order (§4.6). The cursor is checked
   * before the re-request: once the last region is handed out the cursor
   * equals the region count, so if that reply never reaches the kernel
   * (a server crash before it is multicast), the kernel's resend is told
   * "recovery finished" and the region stays out of sync, with
   * `recovering_region` set, until a whole-cluster resume (inference;
   * the simple daemon puts the re-request first instead).
   */
  getResyncWork(originator: number): ClogResyncWork {
    if (this.syncSearch >= this.regionCount) return { result: 0, region: 0 };
    if (this.recoveringRegion !== -1) {
      // The recoverer asking again gets the same region; anyone else waits: one region cluster-wide.
      return this.recoverer === originator
        ? { result: 1, region: this.recoveringRegion }
        : { result: 0, region: 0 };
    }
    for (let region = this.recoveryRequestList.pop(); region !== undefined; ) {
      if (this.syncBits.test(region) === 0) return this.assign(region, originator);
      region = this.recoveryRequestList.pop();
    }
    const region = this.syncBits.findNextZero(this.syncSearch);
    if (region < 0 || region >= this.regionCount) {
      // 34cbedcea: past the end, so that the hint (sync_search - 1) reaches the region count.
      this.syncSearch = this.regionCount + 1;
      // "Resync work complete": r keeps what the search found.
      return { result: 0, region: region < 0 ? RECOVERING_REGION_NONE : region };
    }
    this.syncSearch = region + 1;
    return this.assign(region, originator);
  }

  private assign(region: number, originator: number): ClogResyncWork {
    this.recoveringRegion = region;
    this.recoverer = originator;
    return { result: 1, region };
  }

  /** `clog_set_region_sync`: always ends the recovery; the count checked against a popcount. */
  setRegionSync(region: number, inSync: boolean): void {
    this.recoveringRegion = -1;
    if (inSync) {
      if (this.syncBits.test(region) === 0) {
        this.setBit(this.syncBits, region);
        this.syncCount++;
      }
    } else if (this.syncBits.test(region) === 1) {
      this.syncCount--;
      this.clearBit(this.syncBits, region);
    }
    const counted = this.syncBits.countBits32();
    if (this.syncCount !== counted) this.syncCount = counted;
    if (this.syncCount === this.regionCount) this.inSync = true;
  }

  /** `clog_is_remote_recovering`: any region out of sync counts; a waited-on region is queued once. */
  isRemoteRecovering(region: number): { isRecovering: 0 | 1; inSyncHint: number } {
    let isRecovering: 0 | 1 = 0;
    let inSyncHint = this.regionCount;
    if (!this.recoveryHalted) {
      isRecovering = this.syncBits.test(region) === 1 ? 0 : 1;
      inSyncHint = this.syncSearch > 0 ? this.syncSearch - 1 : 0;
    }
    if (
      isRecovering === 1 &&
      region !== this.recoveringRegion &&
      !this.recoveryRequestList.includes(region)
    ) {
      this.recoveryRequestList.push(region);
    }
    return { isRecovering, inSyncHint };
  }

  /** `clog_get_sync_count`: the count, reset to the popcount (tail bits included) if they differ. */
  getSyncCount(): number {
    const answer = this.syncCount;
    const counted = this.syncBits.countBits32();
    if (this.syncCount !== counted) this.syncCount = counted;
    return answer;
  }

  /** STATUS_INFO: `1 clustered-core` or `3 clustered-disk <dev> <A|D>`. */
  statusInfo(deviceNumber: string): string {
    if (this.disk === null) return '1 clustered-core';
    return `3 clustered-disk ${deviceNumber} ${this.logDevFailed ? 'D' : 'A'}`;
  }

  /** STATUS_TABLE: `clustered-core <rs> [sync |nosync ][block_on_error] ` or with `clustered-disk <dev>`. */
  statusTable(deviceNumber: string): string {
    const sync = this.sync === 'default' ? '' : this.sync === 'nosync' ? 'nosync ' : 'sync ';
    const tail = `${this.regionSize} ${sync}${this.blockOnError ? 'block_on_error' : ''} `;
    return this.disk === null ? `clustered-core ${tail}` : `clustered-disk ${deviceNumber} ${tail}`;
  }

  /** `push_state`: the bitmaps' words and `"<recovering_region> <recoverer>"`. */
  pushState(): ClogCheckpoint {
    return {
      syncBits: this.syncBits.toBytes(),
      cleanBits: this.cleanBits.toBytes(),
      recoveringRegion:
        this.recoveringRegion === -1 ? RECOVERING_REGION_NONE : BigInt(this.recoveringRegion),
      recoverer: this.recoverer,
    };
  }

  /**
   * `pull_state` for the three sections: each bitmap must be exactly this
   * log's size (`resume_override` += 1 for sync, 2 for clean). Returns 0
   * or -EINVAL with nothing changed.
   */
  pullState(checkpoint: ClogCheckpoint): number {
    const bytes = this.syncBits.byteLength;
    if (checkpoint.syncBits.length !== bytes || checkpoint.cleanBits.length !== bytes)
      return EINVAL;
    const region = checkpoint.recoveringRegion;
    if (region !== RECOVERING_REGION_NONE && region >= BigInt(this.regionCount)) return EINVAL;
    this.syncBits.bytes().set(checkpoint.syncBits);
    this.resumeOverride += 1;
    this.cleanBits.bytes().set(checkpoint.cleanBits);
    this.resumeOverride += 2;
    this.recoveringRegion = region === RECOVERING_REGION_NONE ? -1 : Number(region);
    this.recoverer = checkpoint.recoverer;
    return 0;
  }

  /** `log_set_bit`. */
  private setBit(bitset: DmBitset, bit: number): void {
    bitset.set(bit);
    this.touched = true;
  }

  /** `log_clear_bit`. */
  private clearBit(bitset: DmBitset, bit: number): void {
    bitset.clear(bit);
    this.touched = true;
  }
}
