/**
 * A block device as one process sees it: requests go to the real device
 * while the process lives; once it has died, it issues nothing more and
 * its completions go nowhere. What was already submitted still completes
 * on the device, as the block layer finishes I/O of a killed process. The
 * simulated log daemon opens its backing devices through this, so that a
 * daemon crash stops its handler mid-flush without it writing afterwards.
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
} from '../../src/block/block-device.js';

/** `device` seen by the process whose liveness `alive` reports. */
export class ProcessBoundDevice implements BlockDevice {
  constructor(
    readonly device: BlockDevice,
    private readonly alive: () => boolean,
  ) {}

  get name(): string {
    return this.device.name;
  }

  get sizeSectors(): number {
    return this.device.sizeSectors;
  }

  get logicalBlockSizeBytes(): number {
    return this.device.logicalBlockSizeBytes;
  }

  read(request: ReadRequest, callback: ReadCallback): void {
    if (!this.alive()) return;
    this.device.read(request, (error, data) => {
      if (this.alive()) callback(error, data);
    });
  }

  readSparse(request: ReadRequest, callback: SparseReadCallback): void {
    if (!this.alive()) return;
    this.device.readSparse(request, (error, extents) => {
      if (this.alive()) callback(error, extents);
    });
  }

  write(request: WriteRequest, callback: CompletionCallback): void {
    if (!this.alive()) return;
    this.device.write(request, this.guard(callback));
  }

  writeSparse(request: SparseWriteRequest, callback: CompletionCallback): void {
    if (!this.alive()) return;
    this.device.writeSparse(request, this.guard(callback));
  }

  discard(request: DiscardRequest, callback: CompletionCallback): void {
    if (!this.alive()) return;
    this.device.discard(request, this.guard(callback));
  }

  flush(callback: CompletionCallback): void {
    if (!this.alive()) return;
    this.device.flush(this.guard(callback));
  }

  private guard(callback: CompletionCallback): CompletionCallback {
    return (error) => {
      if (this.alive()) callback(error);
    };
  }
}
