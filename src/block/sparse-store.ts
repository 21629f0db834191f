/**
 * The content of a simulated device: 4 KiB chunks in a hash table, so memory
 * grows with the data written and never with the device size. Unwritten
 * sectors read as zeros. Copies and comparisons of a range visit only the
 * chunks written on either side, so comparing two 16 TiB legs costs what was
 * written, not 16 TiB. Chunks can be shared copy-on-write between stores
 * (a device's durable and visible images, a crash image).
 */
import { assert, InvariantError } from '../assert.js';
import { ChunkTable } from './chunk-table.js';
import { SECTOR_SIZE_BYTES } from './sector.js';

export const CHUNK_SECTORS = 8;
export const CHUNK_SIZE_BYTES = CHUNK_SECTORS * SECTOR_SIZE_BYTES;

/** Data at `sectorOffset` sectors into a range; sectors of the range not covered read as zeros. */
export interface SparseExtent {
  readonly sectorOffset: number;
  readonly data: Uint8Array;
}

export class SparseStore {
  private readonly chunks: ChunkTable;

  constructor(readonly sizeSectors: number) {
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
      const chunk = this.chunks.get(chunkIndex);
      if (chunk === undefined) {
        target.fill(0, offset, offset + bytes);
      } else {
        const from = inChunk * SECTOR_SIZE_BYTES;
        target.set(chunk.subarray(from, from + bytes), offset);
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
        this.chunks.delete(chunkIndex);
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
      const chunk = this.chunks.get(chunkIndex)!;
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

  /** A copy-on-write copy: shares every chunk until either side writes it. */
  cloneShared(): SparseStore {
    const copy = new SparseStore(this.sizeSectors);
    this.chunks.markAllShared();
    for (const key of this.chunks.keyList()) copy.chunks.set(key, this.chunks.get(key)!, true);
    return copy;
  }

  /** Makes this store's chunk `chunkIndex` the same as `source`'s, sharing the buffer. */
  adoptChunk(source: SparseStore, chunkIndex: number): void {
    const chunk = source.chunks.get(chunkIndex);
    if (chunk === undefined) {
      this.chunks.delete(chunkIndex);
      return;
    }
    source.chunks.set(chunkIndex, chunk, true);
    this.chunks.set(chunkIndex, chunk, true);
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
        if (this.chunks.get(chunkIndex) !== undefined) result.push(chunkIndex);
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
    return this.chunks.get(chunkIndex);
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
    // One probe in the common case: a chunk this store already owns.
    const owned = this.chunks.getOwned(chunkIndex);
    if (owned !== undefined) return owned;
    const shared = this.chunks.get(chunkIndex);
    const fresh = shared === undefined ? new Uint8Array(CHUNK_SIZE_BYTES) : shared.slice();
    this.chunks.set(chunkIndex, fresh, false);
    return fresh;
  }

  private checkRange(sector: number, sectorCount: number): void {
    // The message is built only on failure: this runs for every read and write.
    if (Number.isSafeInteger(sector) && sector >= 0 && sector + sectorCount <= this.sizeSectors) {
      return;
    }
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
