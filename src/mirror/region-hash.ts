/**
 * The region hash (drivers/md/dm-region-hash.c; reference dm-mirror.md §3):
 * in-memory state for the regions that are interesting — being written,
 * out of sync, or recovering — layered over the dirty log. Clean idle
 * regions are not kept. Each method keeps the kernel's name and order of
 * log calls; "may block" methods are {@link Blocking} tasks.
 */
import { assert } from '../assert.js';
import { type Blocking, immediate } from '../concurrency/blocking.js';
import { Semaphore } from '../concurrency/semaphore.js';
import type { Bio } from '../dm/bio.js';
import type { DirtyLog } from '../log/dirty-log.js';
import type { Scheduler } from '../world/scheduler.js';
import { type ListedRegion, RegionList } from './region-list.js';

/** Region states (`DM_RH_*` in include/linux/dm-region-hash.h). */
export const DM_RH_CLEAN = 0x01;
export const DM_RH_DIRTY = 0x02;
export const DM_RH_NOSYNC = 0x04;
export const DM_RH_RECOVERING = 0x08;
export type RegionState = 0x01 | 0x02 | 0x04 | 0x08;

export function regionStateName(state: number): string {
  switch (state) {
    case DM_RH_CLEAN:
      return 'CLEAN';
    case DM_RH_DIRTY:
      return 'DIRTY';
    case DM_RH_NOSYNC:
      return 'NOSYNC';
    case DM_RH_RECOVERING:
      return 'RECOVERING';
    default:
      return `UNKNOWN(${state})`;
  }
}

/** `struct dm_region`. */
export class Region implements ListedRegion {
  pending = 0;
  delayedBios: Bio[] = [];
  list: RegionList | null = null;
  listPrevious: ListedRegion | null = null;
  listNext: ListedRegion | null = null;

  constructor(
    readonly key: number,
    public state: RegionState,
  ) {}
}

export interface RegionHashOptions {
  readonly log: DirtyLog;
  readonly scheduler: Scheduler;
  readonly regionSizeSectors: number;
  readonly regionCount: number;
  /** `max_recovery`: the mirror passes MAX_RECOVERY = 1. */
  readonly maxRecovery: number;
  /** Requeue delayed bios to the worker as writes. */
  readonly dispatchBios: (bios: Bio[]) => void;
  readonly wakeupWorkers: () => void;
  readonly wakeupAllRecoveryWaiters: () => void;
}

export class RegionHash {
  readonly log: DirtyLog;
  readonly regionSizeSectors: number;
  readonly regionCount: number;
  private readonly regions = new Map<number, Region>();
  private readonly cleanRegions = new RegionList('clean');
  private readonly quiescedRegions = new RegionList('quiesced');
  private readonly recoveredRegions = new RegionList('recovered');
  private readonly failedRecoveredRegions = new RegionList('failed_recovered');
  private flushFailureSticky = false;
  private recoveryInFlightCount = 0;
  /** Starts at 0, so no recovery can start before the first resume (§3.1). */
  private readonly recoveryCount = new Semaphore(0);
  private readonly options: RegionHashOptions;

  constructor(options: RegionHashOptions) {
    const { regionSizeSectors, regionCount, maxRecovery } = options;
    assert(
      Number.isSafeInteger(regionSizeSectors) &&
        regionSizeSectors >= 2 &&
        (regionSizeSectors & (regionSizeSectors - 1)) === 0,
      `region size ${regionSizeSectors} is not a power of two ≥ 2`,
    );
    assert(
      Number.isSafeInteger(regionCount) && regionCount > 0,
      `region count ${regionCount} is not positive`,
    );
    assert(maxRecovery >= 1, 'max_recovery must be at least 1');
    this.options = options;
    this.log = options.log;
    this.regionSizeSectors = regionSizeSectors;
    this.regionCount = regionCount;
  }

  /** The sticky flag set when a PREFLUSH failed on a leg (§4.8). */
  get flushFailure(): boolean {
    return this.flushFailureSticky;
  }

  /** `dm_rh_recovery_in_flight`. */
  get recoveryInFlight(): number {
    return this.recoveryInFlightCount;
  }

  /** Recovery may start: not stopped by a suspend (`recovery_count` is up). */
  get recoveryAllowed(): boolean {
    return this.recoveryCount.value > 0;
  }

  /** Regions currently kept in the hash. */
  get size(): number {
    return this.regions.size;
  }

  /** `dm_rh_bio_to_region`, for a target-relative sector. */
  sectorToRegion(sector: number): number {
    return Math.floor(sector / this.regionSizeSectors);
  }

  /** `dm_rh_region_to_sector`, target-relative. */
  regionToSector(region: number): number {
    return region * this.regionSizeSectors;
  }

  /** The region entry if the hash holds one (`__rh_lookup`). */
  lookup(region: number): Region | undefined {
    return this.regions.get(region);
  }

  /** Every region in the hash, for white-box checks. */
  entries(): IterableIterator<Region> {
    return this.regions.values();
  }

  /**
   * `dm_rh_get_state`: the hash's state if the region is held, otherwise
   * CLEAN when the log says exactly 1 for in_sync, NOSYNC for anything else
   * (0, EWOULDBLOCK, an error).
   */
  *getState(region: number, mayBlock: boolean): Blocking<RegionState> {
    const held = this.regions.get(region);
    if (held !== undefined) return held.state;
    const inSync = yield* this.log.inSync(region, mayBlock);
    return inSync === 1 ? DM_RH_CLEAN : DM_RH_NOSYNC;
  }

  /** `__rh_find`: the region's entry, allocating it (`__rh_alloc`) if needed. */
  *find(region: number): Blocking<Region> {
    const held = this.regions.get(region);
    if (held !== undefined) return held;
    // __rh_alloc tests in_sync for truth, not for 1: any non-zero answer means CLEAN.
    const inSync = yield* this.log.inSync(region, true);
    const raced = this.regions.get(region);
    if (raced !== undefined) return raced;
    const created = new Region(region, inSync !== 0 ? DM_RH_CLEAN : DM_RH_NOSYNC);
    this.regions.set(region, created);
    if (created.state === DM_RH_CLEAN) this.cleanRegions.addHead(created);
    return created;
  }

  /** `rh_inc`: a write is about to be issued to the region. */
  *inc(region: number): Blocking<void> {
    const entry = yield* this.find(region);
    entry.pending++;
    if (entry.state === DM_RH_CLEAN) {
      entry.state = DM_RH_DIRTY;
      this.cleanRegions.remove(entry);
      this.log.markRegion(entry.key);
      this.options.scheduler.trace('rh.mark', entry.key);
    }
    assert(entry.pending > 0, 'pending count did not increase');
  }

  /** `dm_rh_inc_pending`: `rh_inc` for every bio except PREFLUSH and discard bios. */
  *incPending(bios: readonly Bio[]): Blocking<void> {
    for (const bio of bios) {
      if (bio.operation === 'flush' || bio.operation === 'discard') continue;
      yield* this.inc(bio.writeRegion);
    }
  }

  /** `dm_rh_dec`: a write to the region has completed. Runs in completion context. */
  dec(region: number): void {
    const entry = this.regions.get(region);
    assert(entry !== undefined, `dm_rh_dec of region ${region}, which is not in the hash`);
    assert(entry.pending > 0, `dm_rh_dec of region ${region} with no pending writes`);
    assert(
      entry.list === null,
      `region ${region} with pending writes is on the ${entry.list?.name} list`,
    );
    entry.pending--;
    if (entry.pending > 0) return;
    if (this.flushFailureSticky) {
      // A PREFLUSH failed earlier: this write may not be on stable media, so resync.
      entry.state = DM_RH_NOSYNC;
    } else if (entry.state === DM_RH_RECOVERING) {
      this.quiescedRegions.addTail(entry);
    } else if (entry.state === DM_RH_DIRTY) {
      entry.state = DM_RH_CLEAN;
      this.cleanRegions.addHead(entry);
    }
    this.options.wakeupWorkers();
  }

  /**
   * `dm_rh_update_states`: takes the clean, recovered and failed-recovery
   * lists out of the hash, clears and completes them, then flushes the log
   * (its result ignored: a failure shows up at the next write's flush).
   */
  *updateStates(errorsHandled: boolean): Blocking<void> {
    const clean = this.takeOutOfHash<Region>(this.cleanRegions);
    const recovered = this.takeOutOfHash<Region>(this.recoveredRegions);
    const failedRecovered = this.takeOutOfHash<Region>(this.failedRecoveredRegions);
    for (const entry of recovered) {
      this.log.clearRegion(entry.key);
      yield* this.completeResyncWork(entry, true);
    }
    for (const entry of failedRecovered) {
      // Without handle_errors a failed resync is recorded as in sync (legacy best effort, §3.4).
      yield* this.completeResyncWork(entry, !errorsHandled);
    }
    for (const entry of clean) {
      assert(entry.pending === 0, `clean region ${entry.key} has pending writes`);
      this.log.clearRegion(entry.key);
    }
    yield* this.log.flush();
  }

  /** `complete_resync_work`: record the result, dispatch delayed bios, then wake the waiters. */
  *completeResyncWork(entry: Region, success: boolean): Blocking<void> {
    yield* this.log.setRegionSync(entry.key, success);
    const delayed = entry.delayedBios;
    entry.delayedBios = [];
    // Dispatch before waking recovery waiters, so a suspend cannot finish with bios still queued.
    if (delayed.length > 0) this.options.dispatchBios(delayed);
    this.recoveryInFlightCount--;
    assert(this.recoveryInFlightCount >= 0, 'recovery_in_flight went negative');
    if (this.recoveryInFlightCount === 0) this.options.wakeupAllRecoveryWaiters();
    this.recoveryCount.up();
  }

  /** `dm_rh_recovery_prepare`: start quiescing up to `max_recovery` regions. */
  *recoveryPrepare(): Blocking<void> {
    // An extra reference so a concurrent stop cannot see zero in the middle.
    this.recoveryInFlightCount++;
    while (this.recoveryCount.tryDown()) {
      this.recoveryInFlightCount++;
      const prepared = yield* this.recoveryPrepareOne();
      if (prepared <= 0) {
        this.recoveryInFlightCount--;
        this.recoveryCount.up();
        break;
      }
    }
    this.recoveryInFlightCount--;
    assert(this.recoveryInFlightCount >= 0, 'recovery_in_flight went negative');
    if (this.recoveryInFlightCount === 0) this.options.wakeupAllRecoveryWaiters();
  }

  /** `__rh_recovery_prepare`: ask the log for work and start quiescing that region. */
  private *recoveryPrepareOne(): Blocking<number> {
    const work = yield* this.log.getResyncWork();
    if (work.result <= 0) return work.result;
    assert(
      Number.isSafeInteger(work.region) && work.region >= 0 && work.region < this.regionCount,
      `log handed out resync work for region ${work.region} outside [0, ${this.regionCount})`,
    );
    const entry = yield* this.find(work.region);
    entry.state = DM_RH_RECOVERING;
    if (entry.pending > 0) {
      if (entry.list !== null) entry.list.remove(entry);
    } else {
      if (entry.list !== null) entry.list.remove(entry);
      this.quiescedRegions.addHead(entry);
    }
    this.options.scheduler.trace('rh.recovery_prepare', entry.key);
    return 1;
  }

  /** `dm_rh_recovery_start`: a quiesced region ready to be copied, or undefined. */
  recoveryStart(): Region | undefined {
    const entry = this.quiescedRegions.popHead<Region>();
    if (entry === null) return undefined;
    assert(entry.state === DM_RH_RECOVERING, `quiesced region ${entry.key} is not RECOVERING`);
    assert(entry.pending === 0, `quiesced region ${entry.key} has pending writes`);
    return entry;
  }

  /** `dm_rh_recovery_end`: the copy finished (kcopyd callback). */
  recoveryEnd(entry: Region, success: boolean): void {
    assert(
      entry.state === DM_RH_RECOVERING,
      `recovery ended on region ${entry.key} that is not RECOVERING`,
    );
    assert(entry.list === null, `recovered region ${entry.key} is on a list`);
    if (success) this.recoveredRegions.addHead(entry);
    else this.failedRecoveredRegions.addHead(entry);
    this.options.wakeupWorkers();
  }

  /** `dm_rh_delay`: park a write until its region's recovery completes. */
  *delay(bio: Bio): Blocking<void> {
    const entry = yield* this.find(bio.writeRegion);
    entry.delayedBios.push(bio);
  }

  /**
   * `dm_rh_mark_nosync`: a write failed on some leg. A PREFLUSH sets the
   * sticky flush failure instead; a discard is ignored.
   */
  *markNosync(bio: Bio): Blocking<void> {
    if (bio.operation === 'flush') {
      this.flushFailureSticky = true;
      this.options.scheduler.trace('rh.flush_failure');
      return;
    }
    if (bio.operation === 'discard') return;
    const region = bio.writeRegion;
    yield* this.log.setRegionSync(region, false);
    const entry = this.regions.get(region);
    assert(entry !== undefined, `mark_nosync of region ${region}, which is not in the hash`);
    assert(
      entry.list === null,
      `mark_nosync of region ${region} that is on the ${entry.list?.name} list`,
    );
    const recovering = entry.state === DM_RH_RECOVERING;
    entry.state = DM_RH_NOSYNC;
    this.options.scheduler.trace('rh.mark_nosync', region);
    if (recovering) yield* this.completeResyncWork(entry, false);
  }

  /** `dm_rh_flush`. */
  *flush(): Blocking<number> {
    return yield* this.log.flush();
  }

  /** `dm_rh_stop_recovery`: take every recovery slot, waiting for the one in progress. */
  *stopRecovery(): Blocking<void> {
    for (let slot = 0; slot < this.options.maxRecovery; slot++) yield* this.recoveryCount.down();
  }

  /** `dm_rh_start_recovery`: release the recovery slots and wake the worker. */
  startRecovery(): void {
    for (let slot = 0; slot < this.options.maxRecovery; slot++) this.recoveryCount.up();
    this.options.wakeupWorkers();
  }

  /** `dm_region_hash_destroy`: nothing may be pending or quiesced. */
  destroy(): Blocking<void> {
    for (const entry of this.regions.values()) {
      assert(entry.pending === 0, `destroying the region hash with region ${entry.key} pending`);
    }
    assert(this.quiescedRegions.size === 0, 'destroying the region hash with quiesced regions');
    this.regions.clear();
    return immediate(undefined);
  }

  /** Checks every relation between states, lists and pending counts (white-box). */
  checkInvariants(): void {
    for (const entry of this.regions.values()) {
      assert(entry.pending >= 0, `region ${entry.key} pending count is negative`);
      switch (entry.state) {
        case DM_RH_CLEAN:
          assert(entry.pending === 0, `CLEAN region ${entry.key} has pending writes`);
          assert(
            entry.list === this.cleanRegions,
            `CLEAN region ${entry.key} is not on the clean list`,
          );
          break;
        case DM_RH_DIRTY:
          assert(entry.pending > 0, `DIRTY region ${entry.key} has no pending writes`);
          assert(entry.list === null, `DIRTY region ${entry.key} is on a list`);
          break;
        case DM_RH_NOSYNC:
          assert(entry.list === null, `NOSYNC region ${entry.key} is on a list`);
          break;
        case DM_RH_RECOVERING:
          assert(
            entry.list !== this.cleanRegions,
            `RECOVERING region ${entry.key} is on the clean list`,
          );
          if (entry.list === this.quiescedRegions) {
            assert(entry.pending === 0, `quiesced region ${entry.key} has pending writes`);
          }
          break;
      }
      if (entry.delayedBios.length > 0) {
        // dm_rh_dec turns a region that drains after a failed PREFLUSH NOSYNC even while it
        // is being prepared for recovery; its delayed bios then wait for good (§3.3 §4.8).
        assert(
          entry.state === DM_RH_RECOVERING ||
            (entry.state === DM_RH_NOSYNC && this.flushFailureSticky),
          `region ${entry.key} holds delayed bios but is ${regionStateName(entry.state)}, not RECOVERING (flush_failure ${this.flushFailureSticky ? 'set' : 'clear'})`,
        );
      }
    }
  }

  /** Splices a list out and removes its regions from the hash (update_states, step 1). */
  private takeOutOfHash<T extends Region>(list: RegionList): T[] {
    const taken = list.takeAll<T>();
    for (const entry of taken) {
      const removed = this.regions.delete(entry.key);
      assert(removed, `region ${entry.key} on the ${list.name} list was not in the hash`);
    }
    return taken;
  }
}
