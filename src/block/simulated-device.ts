/**
 * A simulated block device: sparse content, per-class latency, an optional
 * volatile write cache, injectable faults, an optional dm-log-writes style
 * write log, and crashes that keep a strategy-chosen subset of what was not
 * yet durable.
 *
 * Durability model (FoundationDB's AsyncFileNonDurable, CrashMonkey's epochs):
 * - a write is visible to reads once it completes;
 * - with the cache off, a completed write is durable;
 * - with the cache on, a completed write is durable only after a flush that
 *   was issued after it completed has itself completed, or at once if FUA;
 * - a crash keeps the durable image plus a subset of the in-flight and
 *   cached writes, chosen by a {@link CrashStrategy}.
 */
import { assert, InvariantError } from '../assert.js';
import type { RandomSource, RandomStream } from '../world/random-stream.js';
import type { Scheduler } from '../world/scheduler.js';
import {
  type BlockDevice,
  BlockIoError,
  type CompletionCallback,
  type DiscardRequest,
  type ReadCallback,
  type ReadRequest,
  type SectorSpan,
  type SparseReadCallback,
  type SparseWriteRequest,
  type WriteRequest,
} from './block-device.js';
import { defaultByteSlab } from './byte-slab.js';
import { type CrashStrategy, chooseCrashState } from './crash-state.js';
import {
  DeviceFaults,
  type FaultConfig,
  type FaultDecision,
  type FaultOperation,
} from './faults.js';
import {
  checkLatency,
  type DeviceLatency,
  drawLatencyTicks,
  type LatencyModel,
  ZERO_LATENCY,
} from './latency.js';
import {
  applyPendingWrite,
  type PendingWrite,
  type PendingWriteKind,
  supersede,
} from './pending-write.js';
import {
  checkGeometry,
  checkRange,
  SECTOR_SIZE_BYTES,
  type SectorRange,
  sectorsOfBuffer,
} from './sector.js';
import { CHUNK_SECTORS, type SparseExtent, SparseStore } from './sparse-store.js';
import { WriteLog } from './write-log.js';

export interface SimulatedDeviceOptions {
  readonly name: string;
  readonly sizeSectors: number;
  /** 512 (default) or a larger power of two; requests must be aligned to it. */
  readonly logicalBlockSizeBytes?: number;
  readonly scheduler: Scheduler;
  /** Streams `<name>.latency`, `<name>.faults` and `<name>.crash` are drawn from it. */
  readonly random: RandomSource;
  readonly latency?: Partial<DeviceLatency>;
  /** A volatile write cache: completed writes need a flush (or FUA) to be durable. Default off. */
  readonly writeCache?: boolean;
  readonly faults?: FaultConfig;
  /** Keep a dm-log-writes style {@link WriteLog} of everything that reached the device. */
  readonly recordWrites?: boolean;
}

export interface DeviceStats {
  reads: number;
  writes: number;
  fuaWrites: number;
  flushes: number;
  discards: number;
  sectorsRead: number;
  sectorsWritten: number;
  errors: number;
  droppedWrites: number;
}

export interface CrashReport {
  readonly deviceName: string;
  readonly strategy: CrashStrategy;
  readonly stateId: string;
  /** Not-yet-durable writes at the crash (in flight or cached). */
  readonly candidateWrites: number;
  /** Of those, how many landed (wholly or, for `torn`, in part). */
  readonly keptWrites: number;
}

type RequestKind = 'read' | 'write' | 'flush' | 'discard';

/** A request as a {@link DeviceObserver} sees it. */
export interface ObservedRequest {
  readonly kind: RequestKind;
  readonly sector: number;
  readonly sectorCount: number;
  readonly fua: boolean;
  /** A dense write's data (read only); null for every other request. */
  readonly data: Uint8Array | null;
}

/**
 * Watches a device (for the simulator's checkers; not part of the block
 * device contract). Calls happen synchronously at the moment described.
 */
export interface DeviceObserver {
  /** A request was accepted, before any latency. */
  submitted?(request: ObservedRequest): void;
  /** A request is completing; its callback runs right after. */
  completed?(request: ObservedRequest, error: BlockIoError | null): void;
  /** The durable content may have changed (a durable write, a flush, a crash). */
  durableChanged?(): void;
}

const NO_TRANSFER: SectorRange = { sector: 0, sectorCount: 0 };
const FLUSH_REQUEST: ObservedRequest = {
  kind: 'flush',
  sector: 0,
  sectorCount: 0,
  fua: false,
  data: null,
};

/** A {@link DeviceStats} with every counter at zero. */
export function emptyDeviceStats(): DeviceStats {
  return {
    reads: 0,
    writes: 0,
    fuaWrites: 0,
    flushes: 0,
    discards: 0,
    sectorsRead: 0,
    sectorsWritten: 0,
    errors: 0,
    droppedWrites: 0,
  };
}

export class SimulatedDevice implements BlockDevice {
  readonly name: string;
  readonly sizeSectors: number;
  readonly logicalBlockSizeBytes: number;
  readonly faults: DeviceFaults;
  readonly writeCache: boolean;
  readonly writeLog: WriteLog | undefined;
  stats: DeviceStats = emptyDeviceStats();

  private readonly scheduler: Scheduler;
  private readonly latency: DeviceLatency;
  private readonly latencyRandom: RandomStream;
  private readonly crashRandom: RandomStream;
  private readonly labels: Record<RequestKind, string>;
  /** What reads see. */
  private visible: SparseStore;
  /** What survives a crash for sure; the same object as `visible` when the cache is off. */
  private durable: SparseStore;
  private readonly inFlight = new Map<number, PendingWrite>();
  /** Completed, not yet durable writes, in completion order, from `volatileHead`. */
  private volatileWrites: PendingWrite[] = [];
  private volatileHead = 0;
  /** For each chunk, how many volatile writes touch it. */
  private readonly volatileChunkRefs = new Map<number, number>();
  /** Completed writes not yet in the write log (logged at the next flush). */
  private unloggedWrites: PendingWrite[] = [];
  private issueNext = 0;
  private completionNext = 0;
  private observers: DeviceObserver[] = [];
  /** Bumped by every crash: completions of requests issued before it never arrive. */
  private generation = 0;

  constructor(options: SimulatedDeviceOptions) {
    this.name = options.name;
    this.sizeSectors = options.sizeSectors;
    this.logicalBlockSizeBytes = options.logicalBlockSizeBytes ?? SECTOR_SIZE_BYTES;
    checkGeometry(this);
    this.scheduler = options.scheduler;
    this.latency = {
      read: options.latency?.read ?? ZERO_LATENCY,
      write: options.latency?.write ?? ZERO_LATENCY,
      flush: options.latency?.flush ?? ZERO_LATENCY,
    };
    for (const operation of ['read', 'write', 'flush'] as const) {
      checkLatency(this.name, operation, this.latency[operation]);
    }
    this.latencyRandom = options.random.stream(`${this.name}.latency`);
    this.crashRandom = options.random.stream(`${this.name}.crash`);
    this.faults = new DeviceFaults(
      this.name,
      options.random.stream(`${this.name}.faults`),
      options.faults,
    );
    this.writeCache = options.writeCache ?? false;
    this.writeLog = options.recordWrites === true ? new WriteLog() : undefined;
    this.visible = new SparseStore(this.sizeSectors);
    this.durable = this.writeCache ? this.visible.cloneShared() : this.visible;
    this.labels = {
      read: `${this.name}.read`,
      write: `${this.name}.write`,
      flush: `${this.name}.flush`,
      discard: `${this.name}.discard`,
    };
  }

  /** The content reads see now. Read only: change it through requests. */
  get content(): SparseStore {
    return this.visible;
  }

  /** The content that would survive a crash that keeps nothing volatile. */
  get durableContent(): SparseStore {
    return this.durable;
  }

  /** Writes accepted and not yet durable (in flight or in the cache). */
  get nonDurableWriteCount(): number {
    return this.inFlight.size + this.volatileWrites.length - this.volatileHead;
  }

  get inFlightWriteCount(): number {
    return this.inFlight.size;
  }

  /** Adds an observer; returns a function that removes it. */
  observe(observer: DeviceObserver): () => void {
    this.observers = [...this.observers, observer];
    return () => {
      this.observers = this.observers.filter((each) => each !== observer);
    };
  }

  read(request: ReadRequest, callback: ReadCallback): void {
    checkRange(this, 'read', request);
    if (this.observers.length > 0) callback = this.observeRead(request, callback);
    const fault = this.faults.decide('read', this.scheduler.now(), request);
    this.stats.reads++;
    this.stats.sectorsRead += request.sectorCount;
    const generation = this.generation;
    this.submit('read', this.latency.read, request, () => {
      if (generation !== this.generation) return;
      if (fault.outcome === 'error') {
        callback(this.ioError('read', request.sector, fault), null);
        return;
      }
      const data = this.visible.read(request.sector, request.sectorCount);
      if (fault.outcome === 'corrupt')
        data[fault.byteIndex] = corruptedByte(data[fault.byteIndex]!, fault);
      callback(null, data);
    });
  }

  readSparse(request: ReadRequest, callback: SparseReadCallback): void {
    checkRange(this, 'read', request);
    if (this.observers.length > 0) callback = this.observeRead(request, callback);
    const fault = this.faults.decide('read', this.scheduler.now(), request);
    this.stats.reads++;
    this.stats.sectorsRead += request.sectorCount;
    const generation = this.generation;
    this.submit('read', this.latency.read, request, () => {
      if (generation !== this.generation) return;
      if (fault.outcome === 'error') {
        callback(this.ioError('read', request.sector, fault), null);
        return;
      }
      const extents = this.visible.readExtents(request.sector, request.sectorCount);
      if (fault.outcome === 'corrupt') corruptExtents(extents, request.sectorCount, fault);
      callback(null, extents);
    });
  }

  write(request: WriteRequest, callback: CompletionCallback): void {
    const sectorCount = sectorsOfBuffer(this, 'write', request.data);
    checkRange(this, 'write', { sector: request.sector, sectorCount });
    this.stats.writes++;
    const changed = request.changed;
    this.acceptWrite(changed === undefined ? 'write' : 'patch', {
      sector: request.sector,
      sectorCount,
      fua: request.fua === true,
      stable: request.stable === true,
      data: changed === undefined ? request.data : null,
      extents:
        changed === undefined ? null : this.patchExtents(request.sector, request.data, changed),
      // Observers see the whole write, as the device would.
      observedData: request.data,
      callback,
    });
  }

  writeSparse(request: SparseWriteRequest, callback: CompletionCallback): void {
    checkRange(this, 'write', request);
    for (const extent of request.extents) {
      const extentSectors = sectorsOfBuffer(this, 'sparse write extent', extent.data);
      if (extent.sectorOffset < 0 || extent.sectorOffset + extentSectors > request.sectorCount) {
        throw new RangeError(
          `Invalid sparse write on device "${this.name}": an extent at offset ${extent.sectorOffset} runs outside its ${request.sectorCount}-sector range`,
        );
      }
    }
    this.stats.writes++;
    this.acceptWrite('sparse', {
      sector: request.sector,
      sectorCount: request.sectorCount,
      fua: request.fua === true,
      data: null,
      extents: request.extents,
      stable: false,
      callback,
    });
  }

  discard(request: DiscardRequest, callback: CompletionCallback): void {
    checkRange(this, 'discard', request);
    this.stats.discards++;
    this.acceptWrite('discard', {
      sector: request.sector,
      sectorCount: request.sectorCount,
      fua: false,
      data: null,
      extents: [],
      stable: false,
      callback,
    });
  }

  flush(callback: CompletionCallback): void {
    if (this.observers.length > 0) callback = this.observeCompletion(FLUSH_REQUEST, callback);
    const fault = this.faults.decide('flush', this.scheduler.now(), undefined);
    this.stats.flushes++;
    // A flush covers exactly the writes that completed before it was issued.
    const coverCompletion = this.completionNext;
    const logged = this.unloggedWrites;
    if (this.writeLog !== undefined) this.unloggedWrites = [];
    const generation = this.generation;
    this.submit('flush', this.latency.flush, NO_TRANSFER, () => {
      if (generation !== this.generation) return;
      if (fault.outcome === 'error') {
        if (this.writeLog !== undefined) this.unloggedWrites = logged.concat(this.unloggedWrites);
        callback(this.ioError('flush', 0, fault));
        return;
      }
      this.makeDurableUpTo(coverCompletion);
      this.notifyDurableChanged();
      if (this.writeLog !== undefined) {
        for (const write of logged) this.writeLog.appendWrite(write);
        this.writeLog.appendFlush();
      }
      callback(null);
    });
  }

  /** See {@link BlockDevice.firstSectorWithData}: written chunks of either image, and writes in flight. */
  firstSectorWithData(sector: number, sectorCount: number): number {
    checkRange(this, 'data query', { sector, sectorCount });
    const end = sector + sectorCount;
    let first = end;
    const stores = this.durable === this.visible ? [this.visible] : [this.visible, this.durable];
    for (const store of stores) {
      const chunk = store.chunkIndicesIn(sector, sectorCount)[0];
      if (chunk !== undefined) first = Math.min(first, Math.max(sector, chunk * CHUNK_SECTORS));
    }
    for (const write of this.inFlight.values()) {
      if (write.sector < end && write.sector + write.sectorCount > sector) {
        first = Math.min(first, Math.max(sector, write.sector));
      }
    }
    return first;
  }

  /**
   * Power cut: keeps the durable image plus the not-yet-durable writes the
   * strategy chooses, and reboots the device on that image with an empty
   * cache. Requests in flight never complete. The caller stops the world
   * (clears the scheduler) first.
   */
  crash(strategy: CrashStrategy): CrashReport {
    const candidates = this.crashCandidates();
    const choice = chooseCrashState(strategy, candidates, this.crashRandom);
    const image = this.durable.cloneShared();
    for (const survivor of choice.survivors)
      applyPendingWrite(image, survivor.write, survivor.keep);
    this.replaceImages(image);
    this.inFlight.clear();
    this.volatileWrites = [];
    this.volatileHead = 0;
    this.volatileChunkRefs.clear();
    this.unloggedWrites = [];
    this.generation++;
    this.scheduler.trace(`${this.name}.crash`, choice.survivors.length);
    return {
      deviceName: this.name,
      strategy,
      stateId: choice.stateId,
      candidateWrites: candidates.length,
      keptWrites: choice.survivors.length,
    };
  }

  /** Not-yet-durable writes in the order they would land: cached by completion, then in flight by issue. */
  crashCandidates(): PendingWrite[] {
    const cached = this.volatileWrites.slice(this.volatileHead);
    const flying = [...this.inFlight.values()].sort(
      (left, right) => left.issueSequence - right.issueSequence,
    );
    return cached.concat(flying);
  }

  /** Replaces the content with `image` (durable), as after restoring a saved image. */
  loadImage(image: SparseStore): void {
    assert(image.sizeSectors === this.sizeSectors, `image size differs from device "${this.name}"`);
    assert(this.nonDurableWriteCount === 0, `device "${this.name}" has writes in flight`);
    this.replaceImages(image.cloneShared());
  }

  /** Makes `image` the visible and durable content, giving the old images' chunks back. */
  private replaceImages(image: SparseStore): void {
    if (this.durable !== this.visible) this.durable.dispose();
    this.visible.dispose();
    this.visible = image;
    this.durable = this.writeCache ? image.cloneShared() : image;
  }

  private acceptWrite(
    kind: PendingWriteKind,
    request: {
      sector: number;
      sectorCount: number;
      fua: boolean;
      data: Uint8Array | null;
      extents: readonly SparseExtent[] | null;
      /** The caller never changes `data`: a cached write may keep it without a copy. */
      stable: boolean;
      /** What observers are shown as the write's data, when not `data` (a patch's whole range). */
      observedData?: Uint8Array;
      callback: CompletionCallback;
    },
  ): void {
    const operation: FaultOperation = kind === 'discard' ? 'discard' : 'write';
    if (this.observers.length > 0) {
      const observed = {
        kind: operation,
        sector: request.sector,
        sectorCount: request.sectorCount,
        fua: request.fua,
        data: request.observedData ?? request.data,
      };
      request = { ...request, callback: this.observeCompletion(observed, request.callback) };
    }
    const fault = this.faults.decide(operation, this.scheduler.now(), request);
    if (request.fua) this.stats.fuaWrites++;
    this.stats.sectorsWritten += request.sectorCount;
    const pending: PendingWrite = {
      kind,
      issueSequence: this.issueNext++,
      completionSequence: -1,
      sector: request.sector,
      sectorCount: request.sectorCount,
      fua: request.fua,
      data: request.data,
      extents: request.extents,
      superseded: null,
    };
    if (fault.outcome !== 'error' && fault.outcome !== 'drop') {
      this.inFlight.set(pending.issueSequence, pending);
    }
    const generation = this.generation;
    const callback = request.callback;
    const stable = request.stable;
    this.submit(
      kind === 'discard' ? 'discard' : 'write',
      this.latency.write,
      kind === 'discard' ? { sector: request.sector, sectorCount: 0 } : request,
      () => {
        if (generation === this.generation) this.completeWrite(pending, fault, callback, stable);
      },
    );
  }

  private completeWrite(
    pending: PendingWrite,
    fault: FaultDecision,
    callback: CompletionCallback,
    stable: boolean,
  ): void {
    if (fault.outcome === 'error') {
      callback(this.ioError(pending.kind, pending.sector, fault));
      return;
    }
    if (fault.outcome === 'drop') {
      this.stats.droppedWrites++;
      callback(null);
      return;
    }
    if (!this.inFlight.delete(pending.issueSequence)) {
      throw new InvariantError(`write ${pending.issueSequence} was not in flight`);
    }
    const cached = this.writeCache && !pending.fua;
    if (fault.outcome === 'corrupt') {
      assert(pending.kind !== 'discard', 'a discard carries no data to corrupt');
      copyPendingData(pending);
      if (pending.kind === 'patch') this.fillPatchHole(pending, fault.byteIndex);
      if (pending.data !== null) {
        pending.data[fault.byteIndex] = corruptedByte(pending.data[fault.byteIndex]!, fault);
      } else corruptExtents(pending.extents as SparseExtent[], pending.sectorCount, fault);
    } else if ((cached || this.writeLog !== undefined) && !stable) {
      // The caller may reuse its buffers once the callback has run (unless it said they are stable).
      copyPendingData(pending);
    }
    applyPendingWrite(this.visible, pending, null);
    if (cached) {
      pending.completionSequence = this.completionNext++;
      this.volatileWrites.push(pending);
      this.adjustChunkRefs(pending, +1);
    } else {
      this.completionNext++;
      if (this.writeCache) this.makeFuaDurable(pending);
      this.notifyDurableChanged();
    }
    if (this.writeLog !== undefined) {
      if (pending.fua) this.writeLog.appendWrite(pending);
      else this.unloggedWrites.push(pending);
    }
    callback(null);
  }

  /**
   * The extents a patch stores: its changed spans, and every sector of its
   * range that a write not yet durable touches. A crash may drop that
   * earlier write, and then the whole-range write would still have put the
   * hint's "unchanged" data there; so the patch carries it too.
   */
  private patchExtents(
    sector: number,
    data: Uint8Array,
    changed: readonly SectorSpan[],
  ): SparseExtent[] {
    const sectorCount = data.length / SECTOR_SIZE_BYTES;
    const stored = new Uint8Array(sectorCount);
    for (const span of changed) {
      checkChangedSpan(span, sectorCount);
      stored.fill(1, span.sectorOffset, span.sectorOffset + span.sectorCount);
    }
    const end = sector + sectorCount;
    const mark = (from: number, count: number) => {
      const first = Math.max(sector, from);
      const last = Math.min(end, from + count);
      if (first < last) stored.fill(1, first - sector, last - sector);
    };
    const notDurable = [...this.volatileWrites.slice(this.volatileHead), ...this.inFlight.values()];
    for (const write of notDurable) {
      if (write.sector >= end || write.sector + write.sectorCount <= sector) continue;
      if (write.kind !== 'patch') mark(write.sector, write.sectorCount);
      else
        for (const extent of write.extents!) {
          mark(write.sector + extent.sectorOffset, extent.data.length / SECTOR_SIZE_BYTES);
        }
    }
    const extents: SparseExtent[] = [];
    for (let offset = 0; offset < sectorCount; ) {
      if (stored[offset] === 0) {
        offset++;
        continue;
      }
      let runEnd = offset;
      while (runEnd < sectorCount && stored[runEnd] === 1) runEnd++;
      const bytes = data.subarray(offset * SECTOR_SIZE_BYTES, runEnd * SECTOR_SIZE_BYTES);
      extents.push({ sectorOffset: offset, data: bytes });
      offset = runEnd;
    }
    return extents;
  }

  /**
   * A patch about to be corrupted at `byteIndex`: if that byte lies in a
   * hole, the hole holds the device's data, so the sector becomes an extent
   * of what the device holds now before the byte is changed.
   */
  private fillPatchHole(pending: PendingWrite, byteIndex: number): void {
    const sectorOffset = Math.floor(byteIndex / SECTOR_SIZE_BYTES);
    const extents = pending.extents as SparseExtent[];
    const covered = extents.some(
      (extent) =>
        sectorOffset >= extent.sectorOffset &&
        sectorOffset < extent.sectorOffset + extent.data.length / SECTOR_SIZE_BYTES,
    );
    if (covered) return;
    extents.push({ sectorOffset, data: this.visible.read(pending.sector + sectorOffset, 1) });
    extents.sort((left, right) => left.sectorOffset - right.sectorOffset);
  }

  /** A FUA write with the cache on: durable now, and newer than every cached write it overlaps. */
  private makeFuaDurable(pending: PendingWrite): void {
    applyPendingWrite(this.durable, pending, null);
    if (this.volatileChunkRefs.size === 0) return;
    for (let index = this.volatileHead; index < this.volatileWrites.length; index++) {
      supersede(this.volatileWrites[index]!, pending);
    }
  }

  /** Makes every cached write with completion sequence below `coverCompletion` durable. */
  private makeDurableUpTo(coverCompletion: number): void {
    while (this.volatileHead < this.volatileWrites.length) {
      const write = this.volatileWrites[this.volatileHead]!;
      if (write.completionSequence >= coverCompletion) break;
      this.volatileHead++;
      applyPendingWrite(this.durable, write, null);
      for (const chunkIndex of this.adjustChunkRefs(write, -1)) {
        // No cached write touches this chunk any more: durable equals visible, so share it.
        this.durable.adoptChunk(this.visible, chunkIndex);
      }
    }
    if (this.volatileHead === this.volatileWrites.length) {
      this.volatileWrites = [];
      this.volatileHead = 0;
      assert(
        this.volatileChunkRefs.size === 0,
        `device "${this.name}" cache is empty but chunks are referenced`,
      );
    }
  }

  /** Adds `delta` to the cache reference count of each chunk `write` touches; returns chunks now at zero. */
  private adjustChunkRefs(write: PendingWrite, delta: 1 | -1): number[] {
    const released: number[] = [];
    // A patch touches its extents only; its holes keep what the device held.
    const spans =
      write.kind === 'patch'
        ? write.extents!.map((extent) => ({
            sector: write.sector + extent.sectorOffset,
            sectorCount: extent.data.length / SECTOR_SIZE_BYTES,
          }))
        : [write];
    for (const span of spans) {
      const first = Math.floor(span.sector / CHUNK_SECTORS);
      const last = Math.floor((span.sector + span.sectorCount - 1) / CHUNK_SECTORS);
      for (let chunkIndex = first; chunkIndex <= last; chunkIndex++) {
        const count = (this.volatileChunkRefs.get(chunkIndex) ?? 0) + delta;
        if (count < 0) {
          throw new InvariantError(
            `device "${this.name}" chunk ${chunkIndex} reference count went negative`,
          );
        }
        if (count === 0) {
          this.volatileChunkRefs.delete(chunkIndex);
          released.push(chunkIndex);
        } else {
          this.volatileChunkRefs.set(chunkIndex, count);
        }
      }
    }
    return released;
  }

  /**
   * Schedules a request's completion. Each `done` first compares the
   * generation it was issued in with the current one: after a crash its
   * completion never arrives. (Checking there, not in a wrapper here, saves
   * an allocation per request on the hot path.)
   */
  /** Schedules a completion; `transfer.sectorCount` sectors add transfer time (0 for flushes, discards). */
  private submit(
    kind: RequestKind,
    latency: LatencyModel,
    transfer: SectorRange,
    done: () => void,
  ): void {
    const delayTicks = drawLatencyTicks(latency, this.latencyRandom, transfer.sectorCount);
    this.scheduler.schedule(delayTicks, this.labels[kind], done, transfer.sector);
  }

  private observeRead<T>(
    request: ReadRequest,
    callback: (error: BlockIoError | null, result: T | null) => void,
  ): (error: BlockIoError | null, result: T | null) => void {
    const observed: ObservedRequest = { kind: 'read', ...request, fua: false, data: null };
    for (const observer of this.observers) observer.submitted?.(observed);
    return (error, result) => {
      for (const observer of this.observers) observer.completed?.(observed, error);
      callback(error, result);
    };
  }

  private observeCompletion(
    observed: ObservedRequest,
    callback: CompletionCallback,
  ): CompletionCallback {
    for (const observer of this.observers) observer.submitted?.(observed);
    return (error) => {
      for (const observer of this.observers) observer.completed?.(observed, error);
      callback(error);
    };
  }

  private notifyDurableChanged(): void {
    for (const observer of this.observers) observer.durableChanged?.();
  }

  private ioError(operation: string, sector: number, fault: FaultDecision): BlockIoError {
    this.stats.errors++;
    return new BlockIoError('EIO', this.name, `${operation} at sector ${sector}`, fault.reason);
  }
}

/** Gives a pending write its own copy of its data or extents (discards have none to copy). */
function copyPendingData(pending: PendingWrite): void {
  // Slab copies: a separate ArrayBuffer per cached write was the costliest line of the write path (profiled).
  if (pending.data !== null) {
    pending.data = defaultByteSlab.copy(pending.data);
    return;
  }
  assert(pending.extents !== null, 'a sparse pending write has no extents');
  pending.extents = pending.extents.map((extent) => ({
    sectorOffset: extent.sectorOffset,
    data: defaultByteSlab.copy(extent.data),
  }));
}

/** Refuses a changed span that is not whole sectors inside a `sectorCount`-sector write. */
function checkChangedSpan(span: SectorSpan, sectorCount: number): void {
  if (
    !Number.isSafeInteger(span.sectorOffset) ||
    !Number.isSafeInteger(span.sectorCount) ||
    span.sectorOffset < 0 ||
    span.sectorCount <= 0 ||
    span.sectorOffset + span.sectorCount > sectorCount
  ) {
    throw new RangeError(
      `Changed span [${span.sectorOffset}, +${span.sectorCount}) is outside a ${sectorCount}-sector write`,
    );
  }
}

function corruptExtents(extents: SparseExtent[], sectorCount: number, fault: FaultDecision): void {
  const sectorOffset = Math.floor(fault.byteIndex / SECTOR_SIZE_BYTES);
  assert(sectorOffset < sectorCount, 'corrupt byte outside the read');
  for (const extent of extents) {
    const start = extent.sectorOffset * SECTOR_SIZE_BYTES;
    if (fault.byteIndex >= start && fault.byteIndex < start + extent.data.length) {
      extent.data[fault.byteIndex - start] = corruptedByte(
        extent.data[fault.byteIndex - start]!,
        fault,
      );
      return;
    }
  }
  // The corrupted byte lies in a hole: materialise it as a one-sector extent.
  const data = new Uint8Array(SECTOR_SIZE_BYTES);
  data[fault.byteIndex - sectorOffset * SECTOR_SIZE_BYTES] = corruptedByte(0, fault);
  extents.push({ sectorOffset, data });
  extents.sort((left, right) => left.sectorOffset - right.sectorOffset);
}

function corruptedByte(current: number, fault: FaultDecision): number {
  return fault.xor ? current ^ fault.value : fault.value;
}
