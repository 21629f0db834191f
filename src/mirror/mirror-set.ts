/**
 * The `mirror` target (drivers/md/dm-raid1.c, version 1.15.0; reference
 * dm-mirror.md §4): a mirror set of 2–9 legs over a region hash and a dirty
 * log, driven by a kmirrord-style worker whose pass runs
 * update-states → recovery → reads → writes → failures. Each method keeps the
 * kernel's name and order; the comments say why where the kernel is subtle.
 */
import { assert } from '../assert.js';
import type { BlockIoError } from '../block/block-device.js';
import { type Blocking, runNonBlocking, spawn, waitFor } from '../concurrency/blocking.js';
import { WaitQueue } from '../concurrency/wait-queue.js';
import type { Bio } from '../dm/bio.js';
import { KcopydClient } from '../dm/kcopyd.js';
import { type EndIoResult, KILL, type MapResult, SUBMITTED, type Target } from '../dm/target.js';
import { EIO, EWOULDBLOCK } from '../errno.js';
import type { DirtyLog, StatusType } from '../log/dirty-log.js';
import type { Scheduler } from '../world/scheduler.js';
import {
  DM_RAID1_FLUSH_ERROR,
  DM_RAID1_READ_ERROR,
  DM_RAID1_SYNC_ERROR,
  DM_RAID1_WRITE_ERROR,
  errorTypeName,
  type Leg,
  type MirrorErrorType,
} from './leg.js';
import {
  DM_RH_CLEAN,
  DM_RH_DIRTY,
  DM_RH_NOSYNC,
  DM_RH_RECOVERING,
  type Region,
  RegionHash,
} from './region-hash.js';
import { SparseResync, type SparseResyncMirror } from './sparse-resync.js';

/** `MAX_RECOVERY`: regions recovered at once per mirror set. */
export const MAX_RECOVERY = 1;
/** `delayed_wake`: HZ/5, in ticks (1 tick = 1 µs). */
export const DELAYED_WAKE_TICKS = 200_000;

export interface MirrorFeatures {
  /** `handle_errors`: hold failed writes for userspace, switch the default leg. */
  readonly handleErrors: boolean;
  /** `keep_log`: with handle_errors, fail writes instead of holding them on leg failure. */
  readonly keepLog: boolean;
}

export interface MirrorSetOptions {
  readonly scheduler: Scheduler;
  readonly lengthSectors: number;
  readonly log: DirtyLog;
  readonly legs: readonly Leg[];
  readonly features: MirrorFeatures;
  /** `dm_table_event`. */
  readonly raiseEvent: (reason: string) => void;
  /** `raid1_resync_throttle` in percent (100 = unthrottled, the default). */
  readonly resyncThrottlePercent?: number;
  /**
   * Beyond Linux: recover runs of regions unwritten on every leg at once
   * (src/mirror/sparse-resync.ts). Default false: every region is copied.
   */
  readonly sparseResync?: boolean;
}

/** A kernel log line (DMERR/DMWARN) the target printed. */
export interface KernelMessage {
  readonly timeTicks: number;
  readonly level: 'error' | 'warning' | 'info';
  readonly text: string;
}

export interface MirrorStats {
  kmirrordPasses: number;
  regionsRecovered: number;
  regionsRecoveryFailed: number;
  /** Sectors copied by recovery (whole regions, as kcopyd moves them). */
  sectorsResynced: number;
  heldBios: number;
}

export class MirrorSet implements Target {
  readonly typeName = 'mirror';
  readonly lengthSectors: number;
  readonly maxIoLenSectors: number;
  readonly regionCount: number;
  readonly rh: RegionHash;
  readonly log: DirtyLog;
  readonly legs: readonly Leg[];
  readonly features: MirrorFeatures;
  readonly kcopyd: KcopydClient;
  readonly stats: MirrorStats = {
    kmirrordPasses: 0,
    regionsRecovered: 0,
    regionsRecoveryFailed: 0,
    sectorsResynced: 0,
    heldBios: 0,
  };
  readonly messages: KernelMessage[] = [];
  /** Simulator hook (not kernel API): called when a region's recovery copy completes. */
  onRegionRecovered: ((region: number, success: boolean) => void) | undefined;
  /**
   * Simulator hook: called when sparse resync recovers a run of regions at
   * once; when unset, {@link onRegionRecovered} is called for each.
   */
  onRegionsRecovered: ((firstRegion: number, count: number) => void) | undefined;

  private readonly scheduler: Scheduler;
  private readonly raiseEventFn: (reason: string) => void;
  private defaultLegIndex = 0;
  private reads: Bio[] = [];
  private writes: Bio[] = [];
  private failures: Bio[] = [];
  private holds: Bio[] = [];
  private suspendFlag = false;
  // Stryker disable next-line BooleanLiteral: equivalent — hold_bio reads it only while suspendFlag is set, and presuspend assigns it right after setting suspendFlag
  private noflushSuspending = false;
  /** `ms->in_sync`: starts 0 and becomes 1 when every region is in sync. */
  private inSyncFlag = false;
  private logFailureFlag = false;
  private legFailureFlag = false;
  private workQueued = false;
  private workRunning = false;
  private readonly workIdle = new WaitQueue();
  private readonly recoveryStopped = new WaitQueue();
  private readonly sparseResync: SparseResync | null;
  private delayedWakePending = false;
  private eventWorkQueued = false;
  private destroyed = false;

  constructor(options: MirrorSetOptions) {
    assert(options.legs.length >= 2 && options.legs.length <= 9, 'a mirror set has 2 to 9 legs');
    assert(
      options.features.handleErrors || !options.features.keepLog,
      'keep_log without handle_errors',
    );
    this.scheduler = options.scheduler;
    this.lengthSectors = options.lengthSectors;
    this.log = options.log;
    this.legs = options.legs;
    this.features = options.features;
    this.raiseEventFn = options.raiseEvent;
    const regionSizeSectors = this.log.getRegionSize();
    this.maxIoLenSectors = regionSizeSectors;
    this.regionCount = Math.ceil(this.lengthSectors / regionSizeSectors);
    this.kcopyd = new KcopydClient(this.scheduler, options.resyncThrottlePercent ?? 100);
    this.rh = new RegionHash({
      log: this.log,
      scheduler: this.scheduler,
      regionSizeSectors,
      regionCount: this.regionCount,
      maxRecovery: MAX_RECOVERY,
      dispatchBios: (bios) => this.dispatchBios(bios),
      wakeupWorkers: () => this.wakeupMirrord(),
      wakeupAllRecoveryWaiters: () => this.recoveryStopped.wakeAll(),
    });
    this.sparseResync =
      options.sparseResync === true ? new SparseResync(this.sparseResyncView()) : null;
    // The constructor wakes kmirrord once; recovery still waits for the first resume.
    this.wakeupMirrord();
  }

  get defaultLeg(): Leg {
    return this.legs[this.defaultLegIndex]!;
  }

  /** `ms->in_sync`. */
  get inSync(): boolean {
    return this.inSyncFlag;
  }

  /** `ms->log_failure` (sticky until the table is replaced). */
  get logFailure(): boolean {
    return this.logFailureFlag;
  }

  /** `ms->leg_failure`. */
  get legFailure(): boolean {
    return this.legFailureFlag;
  }

  /** Writes held for userspace (`ms->holds`). */
  get heldCount(): number {
    return this.holds.length;
  }

  /** True when the worker has nothing queued or running and no copy is in flight. */
  get idle(): boolean {
    return !this.workQueued && !this.workRunning && this.kcopyd.busy === 0;
  }

  /** `mirror_map`. */
  map(bio: Bio): MapResult {
    assert(!this.destroyed, 'map on a destroyed mirror set');
    bio.recordedLeg = -1;
    if (bio.isWrite) {
      bio.writeRegion = this.rh.sectorToRegion(bio.sector);
      this.queueBio(bio, 'writes');
      return SUBMITTED;
    }
    const region = this.rh.sectorToRegion(bio.sector);
    const inSync = runNonBlocking(this.log.inSync(region, false), 'in_sync(can_block=0)');
    if (inSync < 0 && inSync !== EWOULDBLOCK) return KILL;
    if (inSync === 0 || inSync === EWOULDBLOCK) {
      if (bio.readahead) return KILL;
      this.queueBio(bio, 'reads');
      return SUBMITTED;
    }
    const legIndex = this.chooseMirror();
    if (legIndex < 0) return KILL;
    bio.recordedLeg = legIndex;
    const leg = this.legs[legIndex]!;
    return { kind: 'remapped', device: leg.device, sector: leg.offsetSectors + bio.sector };
  }

  /** `mirror_end_io`. */
  endIo(bio: Bio): EndIoResult {
    if (bio.isWrite) {
      if (bio.operation !== 'flush' && bio.operation !== 'discard') this.rh.dec(bio.writeRegion);
      return 'done';
    }
    if (bio.status === 'notsupp' || bio.readahead || bio.status === 'ok') {
      bio.recordedLeg = -1;
      return 'done';
    }
    if (bio.recordedLeg < 0) {
      this.message('error', 'Mirror read failed.');
      return 'done';
    }
    const leg = this.legs[bio.recordedLeg]!;
    this.message('error', `Mirror read failed from ${leg.name}. Trying alternative device.`);
    this.failMirror(leg, DM_RAID1_READ_ERROR);
    if (this.defaultOk() || this.mirrorAvailable(bio)) {
      bio.recordedLeg = -1;
      bio.status = 'ok';
      this.queueBio(bio, 'reads');
      return 'incomplete';
    }
    this.message('error', 'All replicated volumes dead, failing I/O');
    bio.recordedLeg = -1;
    return 'done';
  }

  // ----- kmirrord ---------------------------------------------------------

  /** `wakeup_mirrord`: queue the worker; a queued worker is not queued twice. */
  wakeupMirrord(): void {
    if (this.workQueued || this.destroyed) return;
    this.workQueued = true;
    if (!this.workRunning) this.scheduleWork();
  }

  private scheduleWork(): void {
    this.scheduler.schedule(0, 'kmirrord', () => this.runWork());
  }

  private runWork(): void {
    // Stryker disable next-line ConditionalExpression: equivalent — ("false") destroy() waits until no pass is queued or running and wakeupMirrord queues none after it, so runWork never runs on a destroyed set
    if (this.destroyed) return;
    assert(!this.workRunning, 'kmirrord ran twice at once');
    this.workQueued = false;
    this.workRunning = true;
    spawn(this.doMirror(), () => {
      this.workRunning = false;
      if (this.workQueued) this.scheduleWork();
      else this.workIdle.wakeAll();
    });
  }

  /** `do_mirror`: one pass over the lists as they stood when it began. */
  private *doMirror(): Blocking<void> {
    this.stats.kmirrordPasses++;
    const reads = this.reads;
    const writes = this.writes;
    const failures = this.failures;
    this.reads = [];
    this.writes = [];
    this.failures = [];
    yield* this.rh.updateStates(this.features.handleErrors);
    yield* this.doRecovery();
    yield* this.doReads(reads);
    yield* this.doWrites(writes);
    yield* this.doFailures(failures);
  }

  private queueBio(bio: Bio, list: 'reads' | 'writes'): void {
    const target = list === 'reads' ? this.reads : this.writes;
    const shouldWake = target.length === 0;
    target.push(bio);
    if (shouldWake) this.wakeupMirrord();
  }

  /** `dispatch_bios`: delayed writes go back to the worker. */
  private dispatchBios(bios: readonly Bio[]): void {
    for (const bio of bios) this.queueBio(bio, 'writes');
  }

  /** `delayed_wake`: run the worker again in HZ/5 unless a wake is already armed. */
  private delayedWake(): void {
    if (this.delayedWakePending) return;
    this.delayedWakePending = true;
    this.scheduler.schedule(DELAYED_WAKE_TICKS, 'mirror.delayed_wake', () => {
      this.delayedWakePending = false;
      this.wakeupMirrord();
    });
  }

  // ----- recovery ---------------------------------------------------------

  /** `do_recovery`, after a sparse run when one is ready (see sparse-resync.ts). */
  private *doRecovery(): Blocking<void> {
    if (this.sparseResync !== null && (yield* this.sparseResync.recoverRun()) > 0) {
      // The run held this pass as long as its copies would have; the next pass goes on.
      this.wakeupMirrord();
    }
    yield* this.rh.recoveryPrepare();
    for (
      let region = this.rh.recoveryStart();
      region !== undefined;
      region = this.rh.recoveryStart()
    ) {
      this.recover(region);
    }
    if (this.inSyncFlag) return;
    const syncCount = yield* this.log.getSyncCount();
    if (syncCount === this.regionCount) {
      this.raiseEventFn('mirror in sync');
      this.inSyncFlag = true;
      this.resetMsFlags();
    }
  }

  /** `recover`: copy one region from the default leg to every other leg. */
  private recover(region: Region): void {
    const regionSize = this.rh.regionSizeSectors;
    let sectorCount = regionSize;
    if (region.key === this.regionCount - 1) {
      // The final region may be shorter than region_size.
      sectorCount = this.lengthSectors & (regionSize - 1) || regionSize;
    }
    const startSector = this.rh.regionToSector(region.key);
    const source = this.defaultLeg;
    const destinations = this.legs
      .filter((leg) => leg !== source)
      .map((leg) => ({ device: leg.device, sector: leg.offsetSectors + startSector, sectorCount }));
    this.scheduler.trace('mirror.recover', region.key);
    this.sparseResync?.noteRecover();
    this.kcopyd.copy(
      { device: source.device, sector: source.offsetSectors + startSector, sectorCount },
      destinations,
      { ignoreError: !this.features.handleErrors },
      (readError, writeErrorBits) =>
        this.recoveryComplete(region, readError, writeErrorBits, sectorCount),
    );
  }

  /** What sparse resync sees of this set. */
  private sparseResyncView(): SparseResyncMirror {
    const mirror = this;
    return {
      scheduler: this.scheduler,
      log: this.log,
      rh: this.rh,
      legs: this.legs,
      lengthSectors: this.lengthSectors,
      regionCount: this.regionCount,
      get quiet() {
        return (
          !mirror.logFailureFlag &&
          !mirror.legFailureFlag &&
          !mirror.rh.flushFailure &&
          mirror.kcopyd.busy === 0
        );
      },
      recovered: (firstRegion, count, sectorCount) => {
        this.stats.regionsRecovered += count;
        this.stats.sectorsResynced += sectorCount;
        if (this.onRegionsRecovered !== undefined) {
          this.onRegionsRecovered(firstRegion, count);
        } else if (this.onRegionRecovered !== undefined) {
          for (let region = firstRegion; region < firstRegion + count; region++) {
            this.onRegionRecovered(region, true);
          }
        }
      },
    };
  }

  /** `recovery_complete` (kcopyd callback). */
  private recoveryComplete(
    region: Region,
    readError: boolean,
    writeErrorBits: number,
    sectorCount: number,
  ): void {
    if (readError) {
      this.message('error', 'Unable to read primary mirror during recovery');
      this.failMirror(this.defaultLeg, DM_RAID1_SYNC_ERROR);
    }
    if (writeErrorBits !== 0) {
      this.message(
        'error',
        `Write error during recovery (error = 0x${writeErrorBits.toString(16)})`,
      );
      // Bits follow the non-default legs in index order; the default cannot change during recovery.
      let bit = 0;
      for (const leg of this.legs) {
        if (leg === this.defaultLeg) continue;
        if ((writeErrorBits & (1 << bit)) !== 0) this.failMirror(leg, DM_RAID1_SYNC_ERROR);
        bit++;
      }
    }
    const success = !readError && writeErrorBits === 0;
    if (success) {
      this.stats.regionsRecovered++;
      this.stats.sectorsResynced += sectorCount;
    } else {
      this.stats.regionsRecoveryFailed++;
    }
    this.onRegionRecovered?.(region.key, success);
    this.rh.recoveryEnd(region, success);
  }

  // ----- reads ------------------------------------------------------------

  /** `do_reads`: reads of regions not in sync go to the default leg only. */
  private *doReads(reads: readonly Bio[]): Blocking<void> {
    for (const bio of reads) {
      const region = this.rh.sectorToRegion(bio.sector);
      let legIndex: number = this.defaultLegIndex;
      if (yield* this.regionInSync(region, true)) legIndex = this.chooseMirror();
      else if (this.defaultLeg.errorCount !== 0) legIndex = -1;
      if (legIndex >= 0) this.readAsyncBio(this.legs[legIndex]!, bio);
      else bio.ioError();
    }
  }

  private *regionInSync(region: number, mayBlock: boolean): Blocking<boolean> {
    const state = yield* this.rh.getState(region, mayBlock);
    return state === DM_RH_CLEAN || state === DM_RH_DIRTY;
  }

  /** `read_async_bio` and its `read_callback`. */
  private readAsyncBio(leg: Leg, bio: Bio): void {
    leg.device.read(
      { sector: leg.offsetSectors + bio.sector, sectorCount: bio.sectorCount },
      (error, data) => {
        if (error === null) {
          bio.data = data;
          bio.endio();
          return;
        }
        this.failMirror(leg, DM_RAID1_READ_ERROR);
        if (this.defaultOk() || this.mirrorAvailable(bio)) {
          this.message(
            'warning',
            `Read failure on mirror device ${leg.name}. Trying alternative device.`,
          );
          this.queueBio(bio, 'reads');
          return;
        }
        this.message('error', `Read failure on mirror device ${leg.name}.  Failing I/O.`);
        bio.ioError();
      },
    );
  }

  /** `choose_mirror`: from the default leg downwards (wrapping), the first leg without errors. */
  chooseMirror(): number {
    let index = this.defaultLegIndex;
    do {
      if (this.legs[index]!.errorCount === 0) return index;
      index = index === 0 ? this.legs.length - 1 : index - 1;
    } while (index !== this.defaultLegIndex);
    return -1;
  }

  /** `default_ok`: the current default leg has no errors. */
  private defaultOk(): boolean {
    return this.defaultLeg.errorCount === 0;
  }

  /** `mirror_available`: in_sync (tested for truth, so EWOULDBLOCK counts) and some leg is usable. */
  private mirrorAvailable(bio: Bio): boolean {
    const region = this.rh.sectorToRegion(bio.sector);
    const inSync = runNonBlocking(this.log.inSync(region, false), 'in_sync(can_block=0)');
    if (inSync !== 0) return this.chooseMirror() >= 0;
    return false;
  }

  // ----- writes -----------------------------------------------------------

  /** `do_writes`: classify, mark, flush the log, then dispatch (reference §4.4). */
  private *doWrites(writes: readonly Bio[]): Blocking<void> {
    if (writes.length === 0) return;
    const sync: Bio[] = [];
    const nosync: Bio[] = [];
    const recover: Bio[] = [];
    const requeue: Bio[] = [];
    for (const bio of writes) {
      if (bio.operation === 'flush' || bio.operation === 'discard') {
        sync.push(bio);
        continue;
      }
      const region = bio.writeRegion;
      if (
        this.log.isRemoteRecovering !== undefined &&
        (yield* this.log.isRemoteRecovering(region))
      ) {
        requeue.push(bio);
        continue;
      }
      const state = yield* this.rh.getState(region, true);
      if (state === DM_RH_CLEAN || state === DM_RH_DIRTY) sync.push(bio);
      else if (state === DM_RH_NOSYNC) nosync.push(bio);
      else {
        assert(state === DM_RH_RECOVERING, `unexpected region state ${state}`);
        recover.push(bio);
      }
    }
    if (requeue.length > 0) {
      this.writes.push(...requeue);
      this.delayedWake();
    }
    // Writes to recovering regions are delayed, so only sync and nosync writes count as pending.
    yield* this.rh.incPending(sync);
    yield* this.rh.incPending(nosync);
    // Sticky: a later successful flush does not clear a log failure; only a new table does.
    const flushResult = yield* this.rh.flush();
    if (flushResult !== 0) this.logFailureFlag = true;
    this.scheduler.trace('mirror.log_flush', flushResult === 0 ? 0 : 1);
    if (this.logFailureFlag && this.features.handleErrors) {
      this.failures.push(...sync);
      this.wakeupMirrord();
    } else {
      for (const bio of sync) this.doWrite(bio);
    }
    for (const bio of recover) yield* this.rh.delay(bio);
    for (const bio of nosync) this.writeNosync(bio);
  }

  /** A write to a region out of sync: the default leg only; recovery copies it later. */
  private writeNosync(bio: Bio): void {
    if (this.legFailureFlag && this.features.handleErrors && !this.features.keepLog) {
      this.failures.push(bio);
      this.wakeupMirrord();
      return;
    }
    const leg = this.defaultLeg;
    this.scheduler.trace('mirror.write_nosync', bio.writeRegion);
    this.submitToLeg(leg, bio, (error) => {
      bio.status = error === null ? 'ok' : 'ioerr';
      bio.endio();
    });
  }

  /** `do_write`: one request to every leg at once; `write_callback` when all are done. */
  private doWrite(bio: Bio): void {
    let remaining = this.legs.length;
    let errorBits = 0;
    if (bio.operation !== 'flush') this.scheduler.trace('mirror.write', bio.writeRegion);
    for (const leg of this.legs) {
      this.submitToLeg(leg, bio, (error) => {
        if (error !== null) errorBits |= 1 << leg.index;
        remaining--;
        if (remaining === 0) this.writeCallback(bio, errorBits);
      });
    }
  }

  private submitToLeg(leg: Leg, bio: Bio, done: (error: BlockIoError | null) => void): void {
    const sector = leg.offsetSectors + bio.sector;
    switch (bio.operation) {
      case 'flush':
        leg.device.flush(done);
        return;
      case 'discard':
        leg.device.discard({ sector, sectorCount: bio.sectorCount }, done);
        return;
      case 'write':
        assert(bio.data !== null, 'a write bio carries data');
        leg.device.write({ sector, data: bio.data, fua: bio.fua, stable: bio.stableData }, done);
        return;
      case 'read':
        assert(false, 'reads are not written to legs');
    }
  }

  /** `write_callback`. */
  private writeCallback(bio: Bio, errorBits: number): void {
    if (errorBits === 0) {
      bio.endio();
      return;
    }
    if (bio.operation === 'discard') {
      // A failed discard is reported as unsupported and does not degrade the array.
      bio.status = 'notsupp';
      bio.endio();
      return;
    }
    for (const leg of this.legs) {
      if ((errorBits & (1 << leg.index)) !== 0) this.failMirror(leg, DM_RAID1_WRITE_ERROR);
    }
    // Raising events can block, so the failure is finished in the worker.
    // Stryker disable next-line ConditionalExpression: equivalent — ("true") every push to failures wakes kmirrord, so while the list is non-empty a pass is already queued and another wake does nothing
    const shouldWake = this.failures.length === 0;
    this.failures.push(bio);
    // Stryker disable next-line ConditionalExpression: equivalent — ("true") as above: with failures non-empty kmirrord is already queued
    if (shouldWake) this.wakeupMirrord();
  }

  /** `do_failures`: the three outcomes of reference §4.4 step 7. */
  private *doFailures(failures: readonly Bio[]): Blocking<void> {
    for (const bio of failures) {
      if (!this.logFailureFlag) {
        this.inSyncFlag = false;
        yield* this.rh.markNosync(bio);
      }
      if (this.getValidMirror() < 0 || (this.features.keepLog && this.logFailureFlag)) {
        bio.ioError();
      } else if (this.features.handleErrors && !this.features.keepLog) {
        this.holdBio(bio);
      } else {
        // Reported as success though some leg missed it; the region resyncs from the default leg.
        bio.endio();
      }
    }
  }

  /** `hold_bio`: keep the write until userspace reconfigures, or end it if suspending. */
  private holdBio(bio: Bio): void {
    if (this.suspendFlag) {
      bio.status = this.noflushSuspending ? 'requeue' : 'ioerr';
      bio.endio();
      return;
    }
    this.stats.heldBios++;
    this.holds.push(bio);
  }

  /** `mirror_flush`: the log's flush callback, an empty PREFLUSH to every leg. */
  *mirrorFlush(): Blocking<number> {
    const errorBits = yield* waitFor<number>((resume) => {
      let remaining = this.legs.length;
      let bits = 0;
      for (const leg of this.legs) {
        leg.device.flush((error) => {
          if (error !== null) bits |= 1 << leg.index;
          remaining--;
          if (remaining === 0) resume(bits);
        });
      }
    });
    if (errorBits === 0) return 0;
    for (const leg of this.legs) {
      if ((errorBits & (1 << leg.index)) !== 0) this.failMirror(leg, DM_RAID1_FLUSH_ERROR);
    }
    return EIO;
  }

  // ----- errors -----------------------------------------------------------

  /** `fail_mirror` (reference §4.6). Must not block. */
  failMirror(leg: Leg, type: MirrorErrorType): void {
    this.legFailureFlag = true;
    leg.errorCount++;
    this.scheduler.trace('mirror.fail_mirror', leg.index * 4 + type);
    if (leg.hasErrorType(type)) return;
    leg.errorTypeBits |= 1 << type;
    if (!this.features.handleErrors) return;
    if (leg === this.defaultLeg) {
      if (!this.inSyncFlag && !this.features.keepLog) {
        // Better to keep using a failing leg than risk returning corrupt data from a stale one.
        this.message(
          'error',
          `Primary mirror (${leg.name}) failed while out-of-sync: Reads may fail.`,
        );
      } else {
        const next = this.getValidMirror();
        if (next >= 0) this.setDefaultMirror(next);
        else this.message('warning', 'All sides of mirror have failed.');
      }
    }
    this.queueTriggerEvent(`${leg.name} ${errorTypeName(type)}`);
  }

  /** `get_valid_mirror`: the first leg, from index 0, without errors; -1 if none. */
  getValidMirror(): number {
    return this.legs.findIndex((leg) => leg.errorCount === 0);
  }

  private setDefaultMirror(index: number): void {
    this.defaultLegIndex = index;
    this.scheduler.trace('mirror.default_leg', index);
  }

  private queueTriggerEvent(reason: string): void {
    if (this.eventWorkQueued) return;
    this.eventWorkQueued = true;
    this.scheduler.schedule(0, 'mirror.trigger_event', () => {
      this.eventWorkQueued = false;
      this.raiseEventFn(reason);
    });
  }

  /** `reset_ms_flags`: the set reached full sync, so every leg's errors are forgotten. */
  private resetMsFlags(): void {
    this.legFailureFlag = false;
    for (const leg of this.legs) leg.resetErrors();
  }

  private message(level: KernelMessage['level'], text: string): void {
    this.messages.push({ timeTicks: this.scheduler.now(), level, text });
    if (this.messages.length > 256) this.messages.shift();
  }

  // ----- suspend, resume, destroy -------------------------------------------

  /** `mirror_presuspend` (reference §4.7). */
  *presuspend(options: { readonly noflush: boolean }): Blocking<void> {
    this.suspendFlag = true;
    this.noflushSuspending = options.noflush;
    const holds = this.holds;
    this.holds = [];
    for (const bio of holds) this.holdBio(bio);
    yield* this.rh.stopRecovery();
    yield* this.recoveryStopped.waitUntil(() => this.rh.recoveryInFlight === 0);
    if (this.log.presuspend !== undefined) {
      const result = yield* this.log.presuspend();
      if (result !== 0) this.message('warning', 'log presuspend failed');
    }
    yield* this.flushWorkqueue();
  }

  /** `mirror_postsuspend`. */
  *postsuspend(): Blocking<void> {
    this.noflushSuspending = false;
    // The last completions may have woken kmirrord after presuspend flushed it. In the kernel
    // that pass and this log call race; here the pass finishes first, so the log's blocking
    // calls never overlap (an order the kernel can also produce).
    yield* this.flushWorkqueue();
    if (this.log.postsuspend !== undefined) {
      const result = yield* this.log.postsuspend();
      if (result !== 0) this.message('warning', 'log postsuspend failed');
    }
  }

  /** `mirror_resume`. */
  *resume(): Blocking<void> {
    this.suspendFlag = false;
    // Let a pass still queued (the constructor's wake-up) finish before the log resumes, so the
    // log's blocking calls never overlap.
    yield* this.flushWorkqueue();
    const result = yield* this.log.resume();
    if (result !== 0) this.message('warning', 'log resume failed');
    this.rh.startRecovery();
  }

  /** `mirror_dtr`. */
  *destroy(): Blocking<void> {
    yield* this.flushWorkqueue();
    assert(this.kcopyd.busy === 0, 'destroying a mirror set with copies in flight');
    this.destroyed = true;
    yield* this.rh.destroy();
    yield* this.log.destroy();
  }

  /** `flush_workqueue(kmirrord_wq)`: wait until the worker is neither queued nor running. */
  private *flushWorkqueue(): Blocking<void> {
    yield* this.workIdle.waitUntil(() => !this.workQueued && !this.workRunning);
  }

  // ----- status -----------------------------------------------------------

  /** `mirror_status`, as `dmsetup status` / `dmsetup table` print it after `start length mirror`. */
  *status(type: StatusType): Blocking<string> {
    if (type === 'info') {
      const syncCount = yield* this.log.getSyncCount();
      const names = this.legs.map((leg) => `${leg.name} `).join('');
      const health = this.legs.map((leg) => leg.statusChar()).join('');
      const logInfo = yield* this.log.status('info');
      return `${this.legs.length} ${names}${syncCount}/${this.regionCount} 1 ${health} ${logInfo}`;
    }
    const logTable = yield* this.log.status('table');
    let text = `${logTable}${this.legs.length}`;
    for (const leg of this.legs) text += ` ${leg.name} ${leg.offsetSectors}`;
    const featureCount = (this.features.handleErrors ? 1 : 0) + (this.features.keepLog ? 1 : 0);
    if (featureCount > 0) {
      text += ` ${featureCount}`;
      // Stryker disable next-line ConditionalExpression: equivalent — with any feature set, handle_errors is set (the constructor asserts keep_log implies it).
      if (this.features.handleErrors) text += ' handle_errors';
      if (this.features.keepLog) text += ' keep_log';
    }
    return text;
  }

  /** White-box checks of the set's own invariants (the region hash checks its own). */
  checkInvariants(): void {
    this.rh.checkInvariants();
    assert(
      this.defaultLegIndex >= 0 && this.defaultLegIndex < this.legs.length,
      'default leg out of range',
    );
    if (!this.features.handleErrors) {
      assert(this.holds.length === 0, 'writes were held without handle_errors');
      assert(this.defaultLegIndex === 0, 'the default leg switched without handle_errors');
    }
    for (const bio of this.holds) assert(bio.isWrite, 'a read was held');
  }
}
