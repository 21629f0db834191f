/**
 * A write a device has accepted but not made durable: in flight, or
 * completed into a volatile write cache. These are the candidates a crash
 * may keep or lose. Plain writes carry dense data; sparse writes and
 * discards carry extents (everything else in their range is zeros); a
 * patch carries extents too, but everything else in its range keeps what
 * the device held (a whole-range write whose data there was the same).
 */
import { assert } from '../assert.js';
import { SECTOR_SIZE_BYTES } from './sector.js';
import type { SparseExtent, SparseStore } from './sparse-store.js';

export type PendingWriteKind = 'write' | 'sparse' | 'discard' | 'patch';

export interface PendingWrite {
  readonly kind: PendingWriteKind;
  readonly issueSequence: number;
  /** Order of completion on the device; -1 while in flight. */
  completionSequence: number;
  readonly sector: number;
  readonly sectorCount: number;
  readonly fua: boolean;
  /** Dense data for `write`, null otherwise. */
  data: Uint8Array | null;
  /** Extents for `sparse`, `discard` (empty: all zeros) and `patch`, null for `write`. */
  extents: readonly SparseExtent[] | null;
  /** Per sector, 1 where a later durable write has replaced this one's data; null when none has. */
  superseded: Uint8Array | null;
}

/**
 * Applies a pending write to `store`, only the sectors that `keep` marks
 * (all when null) and that are not superseded.
 */
export function applyPendingWrite(
  store: SparseStore,
  write: PendingWrite,
  keep: Uint8Array | null,
): void {
  const superseded = write.superseded;
  if (keep === null && superseded === null) {
    applyRange(store, write, 0, write.sectorCount);
    return;
  }
  let runStart = -1;
  for (let offset = 0; offset <= write.sectorCount; offset++) {
    const included =
      offset < write.sectorCount &&
      (keep === null || keep[offset] === 1) &&
      (superseded === null || superseded[offset] !== 1);
    if (included && runStart < 0) runStart = offset;
    if (!included && runStart >= 0) {
      applyRange(store, write, runStart, offset - runStart);
      runStart = -1;
    }
  }
}

/** Applies sectors `[offset, offset + count)` of a pending write. */
function applyRange(store: SparseStore, write: PendingWrite, offset: number, count: number): void {
  const target = write.sector + offset;
  if (write.data !== null) {
    store.write(target, write.data, offset * SECTOR_SIZE_BYTES, count);
    return;
  }
  assert(write.extents !== null, 'a sparse pending write has no extents');
  // A patch leaves its holes as they are: the whole-range write had the same data there.
  if (write.kind !== 'patch') store.zero(target, count);
  const end = offset + count;
  for (const extent of write.extents) {
    const extentSectors = extent.data.length / SECTOR_SIZE_BYTES;
    const from = Math.max(offset, extent.sectorOffset);
    const to = Math.min(end, extent.sectorOffset + extentSectors);
    if (from >= to) continue;
    store.write(
      write.sector + from,
      extent.data,
      (from - extent.sectorOffset) * SECTOR_SIZE_BYTES,
      to - from,
    );
  }
}

/** Marks the sectors of `earlier` that `later` overwrites as superseded. */
export function supersede(
  earlier: PendingWrite,
  later: { sector: number; sectorCount: number },
): void {
  const from = Math.max(earlier.sector, later.sector);
  const to = Math.min(earlier.sector + earlier.sectorCount, later.sector + later.sectorCount);
  if (from >= to) return;
  if (earlier.superseded === null) earlier.superseded = new Uint8Array(earlier.sectorCount);
  earlier.superseded.fill(1, from - earlier.sector, to - earlier.sector);
}
