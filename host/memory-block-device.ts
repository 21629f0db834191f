/**
 * A {@link BlockDevice} in the daemon's memory, for `mirrorsim log-daemon`
 * without `--state-dir`: backing logs then live as long as the process,
 * like cmirrord's clustered-core logs. Sparse, so a large target costs
 * only what is written. Completions run as separate events.
 */
import type {
  BlockDevice,
  CompletionCallback,
  DiscardRequest,
  ReadCallback,
  ReadRequest,
  SparseReadCallback,
  SparseWriteRequest,
  WriteRequest,
} from '../src/block/block-device.js';
import { checkRange, SECTOR_SIZE_BYTES } from '../src/block/sector.js';
import { SparseStore } from '../src/block/sparse-store.js';

/** A volatile, sparse, in-memory block device. */
export class MemoryBlockDevice implements BlockDevice {
  readonly logicalBlockSizeBytes = SECTOR_SIZE_BYTES;
  private readonly store: SparseStore;

  /** A zeroed device of `sizeSectors` sectors. */
  constructor(
    readonly name: string,
    readonly sizeSectors: number,
  ) {
    this.store = new SparseStore(sizeSectors);
  }

  read(request: ReadRequest, callback: ReadCallback): void {
    checkRange(this, 'read', request);
    const data = this.store.read(request.sector, request.sectorCount);
    setImmediate(() => callback(null, data));
  }

  readSparse(request: ReadRequest, callback: SparseReadCallback): void {
    checkRange(this, 'read', request);
    const extents = this.store.readExtents(request.sector, request.sectorCount);
    setImmediate(() => callback(null, extents));
  }

  write(request: WriteRequest, callback: CompletionCallback): void {
    checkRange(this, 'write', {
      sector: request.sector,
      sectorCount: request.data.length / SECTOR_SIZE_BYTES,
    });
    this.store.write(request.sector, request.data);
    setImmediate(() => callback(null));
  }

  writeSparse(request: SparseWriteRequest, callback: CompletionCallback): void {
    checkRange(this, 'write', request);
    this.store.writeExtents(request.sector, request.sectorCount, request.extents);
    setImmediate(() => callback(null));
  }

  discard(request: DiscardRequest, callback: CompletionCallback): void {
    checkRange(this, 'discard', request);
    this.store.zero(request.sector, request.sectorCount);
    setImmediate(() => callback(null));
  }

  flush(callback: CompletionCallback): void {
    setImmediate(() => callback(null));
  }
}
