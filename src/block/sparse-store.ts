/**
 * The content of a simulated device: 4 KiB chunks in a hash table, so memory
 * grows with the data written and never with the device size. Unwritten
 * sectors read as zeros. Copies and comparisons of a range visit only the
 * chunks written on either side, so comparing two 16 TiB legs costs what was
 * written, not 16 TiB. Chunks live in a {@link ChunkPool} and can be shared
 * copy-on-write between stores of one pool (a device's durable and visible
 * images, a crash image).
 */
import { assert, InvariantError } from '../assert.js';
import { CHUNK_BYTES, ChunkPool } from './chunk-pool.js';
import { ChunkTable, NO_CHUNK } from './chunk-table.js';
import { SECTOR_SIZE_BYTES } from './sector.js';

export const CHUNK_SECTORS = 8;
export const CHUNK_SIZE_BYTES = CHUNK_SECTORS * SECTOR_SIZE_BYTES;
assert(CHUNK_SIZE_BYTES === CHUNK_BYTES, 'the chunk pool and the store disagree on the chunk size');

/** Data at `sectorOffset` sectors into a range; sectors of the range not covered read as zeros. */
export interface SparseExtent {
  readonly sectorOffset: number;
  readonly data: Uint8Array;
}

export class SparseStore {
  private chunks: ChunkTable;
  private disposed = false;

  /** A zeroed store; chunks come from `pool` (a new pool of its own by default). */
  constructor(
    readonly sizeSectors: number,
    readonly pool: ChunkPool = new ChunkPool(),
  ) {
    assert(
      Number.isSafeInteger(sizeSectors) && sizeSectors > 0,
      `store size ${sizeSectors} is not positive`,
    );
    this.chunks = new ChunkTable();
  }

  /** Chunks holding data. */
  get chunkCount(): number {
    return this.chunks.size;
  }

  /** Bytes of chunk buffers this store refers to (shared chunks counted in each store). */
  get allocatedBytes(): number {
    return this.chunks.size * CHUNK_SIZE_BYTES;
  }

  /** Copies `sectorCount` sectors at `sector` into `target` at byte `targetOffset`. */
  readInto(sector: number, sectorCount: number, target: Uint8Array, targetOffset = 0): void {
    this.checkRange(sector, sectorCount);
    assert(
      targetOffset + sectorCount * SECTOR_SIZE_BYTES <= target.length,
      'read target too small',
    );
    let position = sector;
    let offset = targetOffset;
    const end = sector + sectorCount;
    while (position < end) {
      const chunkIndex = Math.floor(position / CHUNK_SECTORS);
      const inChunk = position - chunkIndex * CHUNK_SECTORS;
      const run = Math.min(CHUNK_SECTORS - inChunk, end - position);
      const bytes = run * SECTOR_SIZE_BYTES;
      const handle = this.chunks.get(chunkIndex);
      if (handle === NO_CHUNK) {
        target.fill(0, offset, offset + bytes);
      } else {
        const from = inChunk * SECTOR_SIZE_BYTES;
        target.set(this.pool.view(handle).subarray(from, from + bytes), offset);
      }
      position += run;
      offset += bytes;
    }
  }

  read(sector: number, sectorCount: number): Uint8Array {
    const result = new Uint8Array(sectorCount * SECTOR_SIZE_BYTES);
    this.readInto(sector, sectorCount, result, 0);
    return result;
  }

  /** Writes whole sectors of `data` (from byte `dataOffset`, `sectorCount` sectors) at `sector`. */
  write(sector: number, data: Uint8Array, dataOffset = 0, sectorCount = -1): void {
    const count = sectorCount < 0 ? (data.length - dataOffset) / SECTOR_SIZE_BYTES : sectorCount;
    if (!Number.isInteger(count) || count <= 0) {
      throw new InvariantError(`write of ${count} sectors is not whole sectors`);
    }
    assert(dataOffset + count * SECTOR_SIZE_BYTES <= data.length, 'write data too short');
    this.checkRange(sector, count);
    let position = sector;
    let offset = dataOffset;
    const end = sector + count;
    while (position < end) {
      const chunkIndex = Math.floor(position / CHUNK_SECTORS);
      const inChunk = position - chunkIndex * CHUNK_SECTORS;
      const run = Math.min(CHUNK_SECTORS - inChunk, end - position);
      const bytes = run * SECTOR_SIZE_BYTES;
      const chunk = this.writableChunk(chunkIndex);
      // A whole-buffer run (the common 4 KiB write) needs no subarray view.
      const source =
        offset === 0 && bytes === data.length ? data : data.subarray(offset, offset + bytes);
      chunk.set(source, inChunk * SECTOR_SIZE_BYTES);
      position += run;
      offset += bytes;
    }
  }

  /** Makes `sectorCount` sectors at `sector` read as zeros, freeing whole chunks. */
  zero(sector: number, sectorCount: number): void {
    this.checkRange(sector, sectorCount);
    const end = sector + sectorCount;
    for (const chunkIndex of this.chunkIndicesIn(sector, sectorCount)) {
      const chunkStart = chunkIndex * CHUNK_SECTORS;
      const from = Math.max(sector, chunkStart);
      const to = Math.min(end, chunkStart + CHUNK_SECTORS);
      if (from === chunkStart && to === chunkStart + CHUNK_SECTORS) {
        this.pool.release(this.chunks.delete(chunkIndex));
      } else {
        const chunk = this.writableChunk(chunkIndex);
        chunk.fill(
          0,
          (from - chunkStart) * SECTOR_SIZE_BYTES,
          (to - chunkStart) * SECTOR_SIZE_BYTES,
        );
      }
    }
  }

  /**
   * The written parts of a range as extents relative to `sector`, in order.
   * Each extent is a copy. Sectors not covered read as zeros.
   */
  readExtents(sector: number, sectorCount: number): SparseExtent[] {
    this.checkRange(sector, sectorCount);
    const end = sector + sectorCount;
    const extents: SparseExtent[] = [];
    for (const chunkIndex of this.chunkIndicesIn(sector, sectorCount)) {
      const chunkStart = chunkIndex * CHUNK_SECTORS;
      const from = Math.max(sector, chunkStart);
      const to = Math.min(end, chunkStart + CHUNK_SECTORS);
      const chunk = this.pool.view(this.chunks.get(chunkIndex));
      const data = chunk.slice(
        (from - chunkStart) * SECTOR_SIZE_BYTES,
        (to - chunkStart) * SECTOR_SIZE_BYTES,
      );
      extents.push({ sectorOffset: from - sector, data });
    }
    return extents;
  }

  /** Replaces a whole range: zeros everywhere, then `extents` (relative to `sector`). */
  writeExtents(sector: number, sectorCount: number, extents: readonly SparseExtent[]): void {
    this.zero(sector, sectorCount);
    let previousEnd = 0;
    for (const extent of extents) {
      const extentSectors = extent.data.length / SECTOR_SIZE_BYTES;
      assert(extent.sectorOffset >= previousEnd, 'sparse extents overlap or are out of order');
      assert(
        extent.sectorOffset + extentSectors <= sectorCount,
        'sparse extent runs past its range',
      );
      this.write(sector + extent.sectorOffset, extent.data);
      previousEnd = extent.sectorOffset + extentSectors;
    }
  }

  /** Copies a range into `target`, visiting only written chunks. */
  copyRangeTo(
    target: SparseStore,
    range: {
      readonly sourceSector: number;
      readonly targetSector: number;
      readonly sectorCount: number;
    },
  ): void {
    const extents = this.readExtents(range.sourceSector, range.sectorCount);
    target.writeExtents(range.targetSector, range.sectorCount, extents);
  }

  /**
   * The first sector offset (relative to the ranges' starts) at which this
   * store's range and `other`'s differ, or -1 if they are identical. Only
   * chunks written on either side are read.
   */
  firstDifference(
    other: SparseStore,
    range: { readonly sector: number; readonly otherSector: number; readonly sectorCount: number },
  ): number {
    const { sector, otherSector, sectorCount } = range;
    const windows = mergeWindows([
      ...this.writtenWindows(sector, sectorCount),
      ...other.writtenWindows(otherSector, sectorCount),
    ]);
    const scratchLeft = new Uint8Array(CHUNK_SIZE_BYTES);
    const scratchRight = new Uint8Array(CHUNK_SIZE_BYTES);
    for (const [windowStart, windowEnd] of windows) {
      for (let position = windowStart; position < windowEnd; position += CHUNK_SECTORS) {
        const run = Math.min(CHUNK_SECTORS, windowEnd - position);
        const bytes = run * SECTOR_SIZE_BYTES;
        this.readInto(sector + position, run, scratchLeft, 0);
        other.readInto(otherSector + position, run, scratchRight, 0);
        for (let byte = 0; byte < bytes; byte++) {
          if (scratchLeft[byte] !== scratchRight[byte]) {
            return position + Math.floor(byte / SECTOR_SIZE_BYTES);
          }
        }
      }
    }
    return -1;
  }

  /** True if both stores hold the same bytes everywhere (sizes must match). */
  equals(other: SparseStore): boolean {
    if (other.sizeSectors !== this.sizeSectors) return false;
    return (
      this.firstDifference(other, { sector: 0, otherSector: 0, sectorCount: this.sizeSectors }) < 0
    );
  }

  /** A copy-on-write copy in the same pool: shares every chunk until either side writes it. */
  cloneShared(): SparseStore {
    this.checkLive();
    const copy = new SparseStore(this.sizeSectors, this.pool);
    copy.chunks = this.chunks.clone();
    copy.chunks.forEach((_, handle) => {
      this.pool.retain(handle);
    });
    return copy;
  }

  /** Makes this store's chunk `chunkIndex` the same as `source`'s, sharing the buffer. */
  adoptChunk(source: SparseStore, chunkIndex: number): void {
    assert(source.pool === this.pool, 'adopting a chunk from another pool');
    const handle = source.chunks.get(chunkIndex);
    if (handle === NO_CHUNK) {
      const removed = this.chunks.delete(chunkIndex);
      if (removed !== NO_CHUNK) this.pool.release(removed);
      return;
    }
    this.pool.retain(handle);
    const replaced = this.chunks.set(chunkIndex, handle);
    if (replaced !== NO_CHUNK) this.pool.release(replaced);
  }

  /**
   * Gives every chunk back to the pool. The store must not be used again;
   * a device disposes of the images a crash replaces.
   */
  dispose(): void {
    this.checkLive();
    this.chunks.forEach((_, handle) => {
      this.pool.release(handle);
    });
    this.chunks.clear();
    this.disposed = true;
  }

  /** Indices of written chunks, sorted ascending. */
  chunkIndices(): number[] {
    return this.chunks.keyList().sort((left, right) => left - right);
  }

  /** Sorted indices of written chunks overlapping a range; costs min(range, written). */
  chunkIndicesIn(sector: number, sectorCount: number): number[] {
    const firstChunk = Math.floor(sector / CHUNK_SECTORS);
    const endChunk = Math.ceil((sector + sectorCount) / CHUNK_SECTORS);
    const span = endChunk - firstChunk;
    const result: number[] = [];
    if (span <= this.chunks.size * 4) {
      for (let chunkIndex = firstChunk; chunkIndex < endChunk; chunkIndex++) {
        if (this.chunks.get(chunkIndex) !== NO_CHUNK) result.push(chunkIndex);
      }
      return result;
    }
    for (const key of this.chunks.keyList()) {
      if (key >= firstChunk && key < endChunk) result.push(key);
    }
    return result.sort((left, right) => left - right);
  }

  /** The raw chunk buffer at `chunkIndex` (read only), for image dumps. */
  chunkAt(chunkIndex: number): Uint8Array | undefined {
    const handle = this.chunks.get(chunkIndex);
    return handle === NO_CHUNK ? undefined : this.pool.view(handle);
  }

  private writtenWindows(sector: number, sectorCount: number): Array<[number, number]> {
    const end = sector + sectorCount;
    return this.chunkIndicesIn(sector, sectorCount).map((chunkIndex) => {
      const chunkStart = chunkIndex * CHUNK_SECTORS;
      return [
        Math.max(sector, chunkStart) - sector,
        Math.min(end, chunkStart + CHUNK_SECTORS) - sector,
      ];
    });
  }

  private writableChunk(chunkIndex: number): Uint8Array {
    const pool = this.pool;
    const handle = this.chunks.get(chunkIndex);
    // The common case: a chunk only this store refers to, changed in place.
    if (handle !== NO_CHUNK && pool.referencesOf(handle) === 1) return pool.view(handle);
    const fresh = pool.alloc();
    if (handle !== NO_CHUNK) {
      // Copy on write: another store still refers to this chunk.
      pool.view(fresh).set(pool.view(handle));
      pool.release(handle);
    }
    this.chunks.set(chunkIndex, fresh);
    return pool.view(fresh);
  }

  private checkLive(): void {
    if (this.disposed) throw new InvariantError('a disposed sparse store was used');
  }

  private checkRange(sector: number, sectorCount: number): void {
    // The message is built only on failure: this runs for every read and write.
    if (
      Number.isSafeInteger(sector) &&
      sector >= 0 &&
      sector + sectorCount <= this.sizeSectors &&
      !this.disposed
    ) {
      return;
    }
    this.checkLive();
    throw new InvariantError(
      `store range [${sector}, +${sectorCount}) outside [0, ${this.sizeSectors})`,
    );
  }
}

/** Sorts and merges half-open windows. */
function mergeWindows(windows: Array<[number, number]>): Array<[number, number]> {
  windows.sort((left, right) => left[0] - right[0]);
  const merged: Array<[number, number]> = [];
  for (const window of windows) {
    const last = merged[merged.length - 1];
    if (last !== undefined && window[0] <= last[1]) last[1] = Math.max(last[1], window[1]);
    else merged.push([window[0], window[1]]);
  }
  return merged;
}
