/**
 * DM core for one mapped device (`struct mapped_device`, drivers/md/dm.c):
 * the user-facing block interface over a target. It splits requests so no
 * bio crosses the target's `max_io_len`, counts bios in flight, and runs
 * suspend and resume in the kernel's order: presuspend, block new I/O, wait
 * for in-flight bios, postsuspend; on resume, swap in a loaded table,
 * resume the target, then resubmit what was held back. Bios a target ends
 * with `requeue` during a noflush suspend are resubmitted after resume.
 */
import { assert } from '../assert.js';
import { BlockIoError } from '../block/block-device.js';
import { checkRange, SECTOR_SIZE_BYTES, sectorsOfBuffer } from '../block/sector.js';
import type { Blocking } from '../concurrency/blocking.js';
import { WaitQueue } from '../concurrency/wait-queue.js';
import type { StatusType } from '../log/dirty-log.js';
import type { Scheduler } from '../world/scheduler.js';
import { Bio, type BioOperation } from './bio.js';
import type { Target } from './target.js';

export type UserCallback = (error: BlockIoError | null, data: Uint8Array | null) => void;

/** Counters of what the mapped device did, for benchmarks and reports. */
export interface MappedDeviceStats {
  userReads: number;
  userWrites: number;
  userFlushes: number;
  userDiscards: number;
  biosSubmitted: number;
  /** Bios that ended with an error: each fails its user request, which ends with its last bio. */
  biosFailed: number;
  userErrors: number;
}

interface UserRequest {
  readonly operation: BioOperation;
  readonly sector: number;
  readonly sectorCount: number;
  readonly data: Uint8Array | null;
  readonly fua: boolean;
  /** The user never changes a write's data: passed down to the devices (WriteRequest.stable). */
  readonly stable: boolean;
  readonly callback: UserCallback;
  remaining: number;
  failed: BioStatusFailure | null;
  result: Uint8Array | null;
}

type BioStatusFailure = 'ioerr' | 'notsupp';

/** A part of a user request still to be mapped: the whole request, or a bio to requeue. */
interface Piece {
  readonly request: UserRequest;
  readonly sector: number;
  readonly sectorCount: number;
  readonly readahead: boolean;
}

export class MappedDevice {
  readonly stats: MappedDeviceStats = {
    userReads: 0,
    userWrites: 0,
    userFlushes: 0,
    userDiscards: 0,
    biosSubmitted: 0,
    biosFailed: 0,
    userErrors: 0,
  };
  private liveTarget: Target | null = null;
  private inactiveTarget: Target | null = null;
  private isSuspended = true;
  private blockingIo = true;
  private noflushSuspending = false;
  private biosInFlight = 0;
  private readonly idle = new WaitQueue();
  /** Bios waiting for resume (held while suspended, or requeued by a noflush suspend). */
  private deferred: Piece[] = [];
  private eventCount = 0;
  private readonly eventReasons: string[] = [];

  constructor(
    readonly name: string,
    private readonly scheduler: Scheduler,
  ) {}

  get target(): Target | null {
    return this.liveTarget;
  }

  get inactive(): Target | null {
    return this.inactiveTarget;
  }

  get suspended(): boolean {
    return this.isSuspended;
  }

  /** Bios handed to the target and not yet completed for good. */
  get inFlight(): number {
    return this.biosInFlight;
  }

  /** Requests waiting for the device to be resumed. */
  get deferredCount(): number {
    return this.deferred.length;
  }

  /** `dm_table_event` count (`dmsetup info`'s event number). */
  get events(): number {
    return this.eventCount;
  }

  get recentEventReasons(): readonly string[] {
    return this.eventReasons;
  }

  /** The size of the live table (or the loaded one before the first resume), in sectors. */
  get sizeSectors(): number {
    return (this.liveTarget ?? this.inactiveTarget)?.lengthSectors ?? 0;
  }

  /** `dm_table_event`: targets call this; userspace would be woken. */
  raiseEvent(reason: string): void {
    this.eventCount++;
    this.eventReasons.push(reason);
    if (this.eventReasons.length > 64) this.eventReasons.shift();
    this.scheduler.trace(`${this.name}.event`, this.eventCount);
  }

  /** `dmsetup load`: makes `target` the inactive table, destroying a previous inactive one. */
  *load(target: Target): Blocking<void> {
    const previous = this.inactiveTarget;
    this.inactiveTarget = target;
    if (previous !== null) yield* previous.destroy();
  }

  /** `dmsetup suspend [--noflush]`. */
  *suspend(options: { readonly noflush: boolean } = { noflush: false }): Blocking<void> {
    if (this.isSuspended) return;
    const target = this.liveTarget;
    assert(target !== null, `device "${this.name}" has no live table`);
    this.noflushSuspending = options.noflush;
    yield* target.presuspend(options);
    this.blockingIo = true;
    yield* this.idle.waitUntil(() => this.biosInFlight === 0);
    this.isSuspended = true;
    this.noflushSuspending = false;
    yield* target.postsuspend();
    this.scheduler.trace(`${this.name}.suspended`);
  }

  /**
   * `dmsetup resume`: swaps in the inactive table if one is loaded
   * (suspending the live one first), resumes, resubmits held bios, and then
   * destroys the old table, in `do_resume`'s order.
   */
  *resume(): Blocking<void> {
    let oldTarget: Target | null = null;
    if (this.inactiveTarget !== null) {
      if (!this.isSuspended) yield* this.suspend();
      oldTarget = this.liveTarget;
      this.liveTarget = this.inactiveTarget;
      this.inactiveTarget = null;
    }
    const target = this.liveTarget;
    assert(target !== null, `device "${this.name}" has no table to resume`);
    if (this.isSuspended) {
      yield* target.resume();
      this.isSuspended = false;
      this.blockingIo = false;
      this.scheduler.trace(`${this.name}.resumed`);
      this.flushDeferred();
    }
    if (oldTarget !== null) yield* oldTarget.destroy();
  }

  /** `dmsetup remove`: suspends and destroys the tables. */
  *remove(): Blocking<void> {
    if (this.liveTarget !== null && !this.isSuspended) yield* this.suspend();
    if (this.inactiveTarget !== null) yield* this.inactiveTarget.destroy();
    if (this.liveTarget !== null) yield* this.liveTarget.destroy();
    this.inactiveTarget = null;
    this.liveTarget = null;
  }

  /** The live target's status (without the leading `start length type`). */
  *status(type: StatusType): Blocking<string> {
    const target = this.liveTarget;
    assert(target !== null, `device "${this.name}" has no live table`);
    return yield* target.status(type);
  }

  read(
    request: { readonly sector: number; readonly sectorCount: number },
    callback: UserCallback,
  ): void {
    this.checkUserRange('read', request);
    this.stats.userReads++;
    this.start({ operation: 'read', ...request, data: null, fua: false, stable: false, callback });
  }

  write(
    request: {
      readonly sector: number;
      readonly data: Uint8Array;
      readonly fua?: boolean;
      readonly stable?: boolean;
    },
    callback: (error: BlockIoError | null) => void,
  ): void {
    const sectorCount = sectorsOfBuffer(this.geometry(), 'write', request.data);
    this.checkUserRange('write', { sector: request.sector, sectorCount });
    this.stats.userWrites++;
    this.start({
      operation: 'write',
      sector: request.sector,
      sectorCount,
      data: request.data,
      fua: request.fua === true,
      stable: request.stable === true,
      // A completion callback ignores the data argument: no adapter closure per request.
      callback,
    });
  }

  /** An empty PREFLUSH (`num_flush_bios = 1`). */
  flush(callback: (error: BlockIoError | null) => void): void {
    this.stats.userFlushes++;
    this.start({
      operation: 'flush',
      sector: 0,
      sectorCount: 0,
      data: null,
      fua: false,
      stable: false,
      callback,
    });
  }

  discard(
    request: { readonly sector: number; readonly sectorCount: number },
    callback: (error: BlockIoError | null) => void,
  ): void {
    this.checkUserRange('discard', request);
    this.stats.userDiscards++;
    this.start({
      operation: 'discard',
      ...request,
      data: null,
      fua: false,
      stable: false,
      callback,
    });
  }

  private start(spec: Omit<UserRequest, 'remaining' | 'failed' | 'result'>): void {
    // Named fields, not a spread: the spread was the costliest line of the write path (profiled).
    const request: UserRequest = {
      operation: spec.operation,
      sector: spec.sector,
      sectorCount: spec.sectorCount,
      data: spec.data,
      fua: spec.fua,
      stable: spec.stable,
      callback: spec.callback,
      remaining: 1,
      failed: null,
      result:
        spec.operation === 'read' ? new Uint8Array(spec.sectorCount * SECTOR_SIZE_BYTES) : null,
    };
    this.submitOrDefer({
      request,
      sector: spec.sector,
      sectorCount: spec.sectorCount,
      readahead: false,
    });
  }

  /**
   * Submits a piece of a request now, or keeps it for resume while I/O is
   * blocked. Pieces are split against the table live when they are
   * submitted, since a reload may change `max_io_len`.
   */
  private submitOrDefer(piece: Piece): void {
    if (this.blockingIo) {
      this.deferred.push(piece);
      return;
    }
    const target = this.liveTarget;
    assert(target !== null, 'submit without a live table');
    const bios = this.split(piece, target.maxIoLenSectors);
    piece.request.remaining += bios.length - 1;
    for (const bio of bios) this.submit(target, bio, piece.request);
  }

  /** Splits a piece at multiples of `maxIoLen` sectors (`dm_set_target_max_io_len`). */
  private split(piece: Piece, maxIoLen: number): Bio[] {
    if (piece.request.operation === 'flush') return [this.newBio(piece, 0, 0)];
    const bios: Bio[] = [];
    let sector = piece.sector;
    const end = piece.sector + piece.sectorCount;
    while (sector < end) {
      const boundary = (Math.floor(sector / maxIoLen) + 1) * maxIoLen;
      const count = Math.min(end, boundary) - sector;
      bios.push(this.newBio(piece, sector, count));
      sector += count;
    }
    return bios;
  }

  private newBio(piece: Piece, sector: number, sectorCount: number): Bio {
    const request = piece.request;
    let data: Uint8Array | null = null;
    if (request.data !== null) {
      const from = (sector - request.sector) * SECTOR_SIZE_BYTES;
      const whole = from === 0 && sectorCount === request.sectorCount;
      data = whole
        ? request.data
        : request.data.subarray(from, from + sectorCount * SECTOR_SIZE_BYTES);
    }
    const bio = new Bio(
      request.operation,
      sector,
      sectorCount,
      data,
      request.fua,
      piece.readahead,
      (ended) => this.onBioEnd(ended, request),
    );
    bio.stableData = request.stable;
    return bio;
  }

  private submit(target: Target, bio: Bio, request: UserRequest): void {
    this.biosInFlight++;
    this.stats.biosSubmitted++;
    const result = target.map(bio);
    if (result.kind === 'kill') {
      // DM_MAPIO_KILL: __map_bio frees the clone and ends the io with IOERR; end_io never runs.
      bio.status = 'ioerr';
      this.finishBio(bio, request);
      return;
    }
    if (result.kind === 'remapped') {
      assert(bio.operation === 'read', 'only reads are remapped by the targets modelled');
      result.device.read({ sector: result.sector, sectorCount: bio.sectorCount }, (error, data) => {
        bio.status = error === null ? 'ok' : 'ioerr';
        bio.data = data;
        this.onBioEnd(bio, request);
      });
    }
  }

  /** A bio completed (from the target's `bio_endio` or a remapped device): run `end_io`. */
  private onBioEnd(bio: Bio, request: UserRequest): void {
    const target = this.liveTarget;
    assert(target !== null, 'bio ended without a live table');
    assert(!bio.finished, 'bio ended after it had finished');
    if (target.endIo(bio) === 'incomplete') return;
    this.finishBio(bio, request);
  }

  /** The bio is done for good: count it out, then complete its part or keep it for resume. */
  private finishBio(bio: Bio, request: UserRequest): void {
    assert(!bio.finished, 'bio finished twice');
    bio.finished = true;
    this.biosInFlight--;
    assert(this.biosInFlight >= 0, `device "${this.name}" in-flight bio count went negative`);
    if (bio.status === 'requeue') {
      // DM core keeps a bio its target requeued and submits it again after resume.
      assert(
        this.noflushSuspending || this.blockingIo,
        'a bio was requeued outside a noflush suspend',
      );
      this.deferred.push({
        request,
        sector: bio.sector,
        sectorCount: bio.sectorCount,
        readahead: bio.readahead,
      });
    } else {
      this.completePart(bio, request);
    }
    if (this.biosInFlight === 0) this.idle.wakeAll();
  }

  private completePart(bio: Bio, request: UserRequest): void {
    if (bio.status === 'ioerr' || bio.status === 'notsupp') {
      this.stats.biosFailed++;
      request.failed ??= bio.status;
    }
    if (bio.operation === 'read' && bio.status === 'ok') {
      assert(bio.data !== null, 'a successful read carries data');
      request.result!.set(bio.data, (bio.sector - request.sector) * SECTOR_SIZE_BYTES);
    }
    request.remaining--;
    assert(request.remaining >= 0, 'user request completed too often');
    if (request.remaining > 0) return;
    if (request.failed !== null) {
      this.stats.userErrors++;
      const errno = request.failed === 'notsupp' ? 'EOPNOTSUPP' : 'EIO';
      request.callback(
        new BlockIoError(
          errno,
          this.name,
          `${request.operation} at sector ${request.sector}`,
          'target error',
        ),
        null,
      );
      return;
    }
    request.callback(null, request.result);
  }

  private flushDeferred(): void {
    const held = this.deferred;
    this.deferred = [];
    for (const piece of held) this.submitOrDefer(piece);
  }

  private geometry() {
    return {
      name: this.name,
      sizeSectors: this.sizeSectors,
      logicalBlockSizeBytes: SECTOR_SIZE_BYTES,
    };
  }

  private checkUserRange(operation: string, range: { sector: number; sectorCount: number }): void {
    assert(
      this.liveTarget !== null || this.inactiveTarget !== null,
      `device "${this.name}" has no table`,
    );
    checkRange(this.geometry(), operation, range);
  }
}
