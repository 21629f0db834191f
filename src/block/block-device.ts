/**
 * The one interface every block device implements: mirror legs, log devices,
 * and anything a user plugs in. Requests complete through callbacks that run
 * as scheduler events, never synchronously inside the call, so the order of
 * completions is the simulator's to decide.
 *
 * The caller must not change a buffer it passed to `write` until the
 * callback runs.
 */
import type { SparseExtent } from './sparse-store.js';

export type BlockErrno = 'EIO' | 'EOPNOTSUPP';

/** The error a failed request completes with (passed to the callback, not thrown). */
export class BlockIoError extends Error {
  override name = 'BlockIoError';
  constructor(
    readonly errno: BlockErrno,
    readonly deviceName: string,
    readonly operation: string,
    detail: string,
  ) {
    super(`${errno}: ${operation} on device "${deviceName}" failed: ${detail}`);
  }
}

export interface ReadRequest {
  readonly sector: number;
  readonly sectorCount: number;
}

export interface WriteRequest {
  readonly sector: number;
  /** Whole sectors; its length decides the request size. */
  readonly data: Uint8Array;
  /** Forced unit access: durable when the write completes. */
  readonly fua?: boolean;
  /**
   * The caller never changes `data` after submitting it, so a device may
   * keep it (in a write cache, a write log) instead of copying it.
   */
  readonly stable?: boolean;
  /**
   * Optional hint, beyond what a real device sees: outside these ranges
   * (sector offsets in `data`) the data equals what the device holds now,
   * so a device may store only these. The write stays the same write —
   * its size, latency, ordering and crash states are those of the whole
   * range — it just costs what changed. A device may ignore the hint.
   */
  readonly changed?: readonly SectorSpan[];
}

/** A span of sectors, relative to a request's first sector. */
export interface SectorSpan {
  readonly sectorOffset: number;
  readonly sectorCount: number;
}

/** A write of a whole range given sparsely: extents hold data, the rest is zeros. */
export interface SparseWriteRequest {
  readonly sector: number;
  readonly sectorCount: number;
  readonly extents: readonly SparseExtent[];
  readonly fua?: boolean;
}

export interface DiscardRequest {
  readonly sector: number;
  readonly sectorCount: number;
}

export type ReadCallback = (error: BlockIoError | null, data: Uint8Array | null) => void;
export type SparseReadCallback = (
  error: BlockIoError | null,
  extents: SparseExtent[] | null,
) => void;
export type CompletionCallback = (error: BlockIoError | null) => void;

export interface BlockDevice {
  readonly name: string;
  readonly sizeSectors: number;
  readonly logicalBlockSizeBytes: number;
  read(request: ReadRequest, callback: ReadCallback): void;
  /** Reads a range as extents of written data (sparse-aware, for copies such as resync). */
  readSparse(request: ReadRequest, callback: SparseReadCallback): void;
  write(request: WriteRequest, callback: CompletionCallback): void;
  writeSparse(request: SparseWriteRequest, callback: CompletionCallback): void;
  /** Discards a range; on these devices discarded sectors read as zeros. */
  discard(request: DiscardRequest, callback: CompletionCallback): void;
  /** An empty PREFLUSH: every write completed before it was issued is durable when it completes. */
  flush(callback: CompletionCallback): void;
  /**
   * Optional, a simulator query (no I/O, no time): the first sector of
   * `[sector, sector + sectorCount)` that holds data — visible, durable,
   * cached or in flight — or `sector + sectorCount` when the whole range
   * has never held any and reads as zeros. The mirror's sparse resync
   * uses it to skip copies of zeros onto zeros.
   */
  firstSectorWithData?(sector: number, sectorCount: number): number;
}
