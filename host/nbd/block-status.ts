/**
 * `base:allocation` for a range of the export (reference nbd.md §3.5),
 * answered from the sparse content of the leg reads are served from:
 * written 4 KiB chunks are data (status 0), everything else a hole that
 * reads as zeros (`NBD_STATE_HOLE | NBD_STATE_ZERO`). Adjacent chunks of
 * one kind merge into one extent; extents stay inside the request (so the
 * last one never runs past it) and are multiples of 512 bytes.
 */
import { assert } from '../../src/assert.js';
import { SECTOR_SIZE_BYTES } from '../../src/block/sector.js';
import { CHUNK_SECTORS, type SparseStore } from '../../src/block/sparse-store.js';
import {
  BLOCK_STATUS_EXTENTS_MAX,
  NBD_STATE_HOLE,
  NBD_STATE_ZERO,
} from './protocol/nbd-constants.js';
import type { BlockExtent } from './protocol/reply-encoder.js';

const HOLE = NBD_STATE_HOLE | NBD_STATE_ZERO;
const DATA = 0;

/** Where the export's sectors live: a store and the sector of the export's start in it. */
export interface AllocationSource {
  readonly store: SparseStore;
  readonly offsetSectors: number;
}

/**
 * The extents of `[sector, sector + sectorCount)` of the export: at least
 * one, at most `extentsMax` (the client asks again for the rest), or
 * exactly one with `reqOne` (§3.3 REQ_ONE).
 */
export function allocationExtents(
  source: AllocationSource,
  range: { readonly sector: number; readonly sectorCount: number },
  options: { readonly reqOne: boolean; readonly extentsMax?: number },
): BlockExtent[] {
  assert(range.sectorCount > 0, 'block status of an empty range');
  const extentsMax = options.reqOne ? 1 : (options.extentsMax ?? BLOCK_STATUS_EXTENTS_MAX);
  const start = source.offsetSectors + range.sector;
  const end = start + range.sectorCount;
  const extents: BlockExtent[] = [];
  let position = start;
  const push = (to: number, flags: number): boolean => {
    if (to <= position) return true;
    const last = extents[extents.length - 1];
    const lengthBytes = (to - position) * SECTOR_SIZE_BYTES;
    if (last !== undefined && last.flags === flags) {
      extents[extents.length - 1] = { lengthBytes: last.lengthBytes + lengthBytes, flags };
    } else {
      if (extents.length === extentsMax) return false;
      extents.push({ lengthBytes, flags });
    }
    position = to;
    return true;
  };
  let truncated = false;
  for (const chunkIndex of source.store.chunkIndicesIn(start, range.sectorCount)) {
    const chunkStart = Math.max(start, chunkIndex * CHUNK_SECTORS);
    const chunkEnd = Math.min(end, (chunkIndex + 1) * CHUNK_SECTORS);
    if (!push(chunkStart, HOLE) || !push(chunkEnd, DATA)) {
      truncated = true;
      break;
    }
  }
  // Past the last written chunk the range is a hole, unless the extent limit stopped the walk.
  if (!truncated) push(end, HOLE);
  assert(extents.length >= 1 && extents.length <= extentsMax, 'extent count out of bounds');
  return extents;
}
