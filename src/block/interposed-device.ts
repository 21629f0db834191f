/**
 * A block device in front of another that sees every request as it is
 * submitted and as it completes, and may swallow either: the one shape
 * behind recording wrappers in tests and the simulated daemon's
 * process-bound devices (a dead process issues nothing, and hears nothing).
 */
import type {
  BlockDevice,
  BlockIoError,
  CompletionCallback,
  DiscardRequest,
  ReadCallback,
  ReadRequest,
  SparseReadCallback,
  SparseWriteRequest,
  WriteRequest,
} from './block-device.js';
import { SECTOR_SIZE_BYTES } from './sector.js';

/** `readSparse` and `writeSparse` are the sparse-aware copies (kcopyd's). */
export type InterposedKind = 'read' | 'readSparse' | 'write' | 'writeSparse' | 'discard' | 'flush';

export interface InterposedRequest {
  readonly kind: InterposedKind;
  readonly sector: number;
  readonly sectorCount: number;
  readonly fua: boolean;
}

export interface Interposer {
  /** The request is about to reach the inner device; return false to swallow it (it never completes). */
  submit?(request: InterposedRequest): boolean | undefined;
  /** The inner device completed it; return false to swallow the completion. */
  complete?(request: InterposedRequest, error: BlockIoError | null): boolean | undefined;
}

export class InterposedDevice implements BlockDevice {
  constructor(
    readonly inner: BlockDevice,
    private readonly interposer: Interposer,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get sizeSectors(): number {
    return this.inner.sizeSectors;
  }

  get logicalBlockSizeBytes(): number {
    return this.inner.logicalBlockSizeBytes;
  }

  read(request: ReadRequest, callback: ReadCallback): void {
    const seen = this.seen('read', request.sector, request.sectorCount, false);
    if (seen === null) return;
    this.inner.read(request, (error, data) => {
      if (this.heard(seen, error)) callback(error, data);
    });
  }

  readSparse(request: ReadRequest, callback: SparseReadCallback): void {
    const seen = this.seen('readSparse', request.sector, request.sectorCount, false);
    if (seen === null) return;
    this.inner.readSparse(request, (error, extents) => {
      if (this.heard(seen, error)) callback(error, extents);
    });
  }

  write(request: WriteRequest, callback: CompletionCallback): void {
    const sectorCount = request.data.length / SECTOR_SIZE_BYTES;
    const seen = this.seen('write', request.sector, sectorCount, request.fua === true);
    if (seen !== null) this.inner.write(request, this.relay(seen, callback));
  }

  writeSparse(request: SparseWriteRequest, callback: CompletionCallback): void {
    const seen = this.seen(
      'writeSparse',
      request.sector,
      request.sectorCount,
      request.fua === true,
    );
    if (seen !== null) this.inner.writeSparse(request, this.relay(seen, callback));
  }

  discard(request: DiscardRequest, callback: CompletionCallback): void {
    const seen = this.seen('discard', request.sector, request.sectorCount, false);
    if (seen !== null) this.inner.discard(request, this.relay(seen, callback));
  }

  flush(callback: CompletionCallback): void {
    const seen = this.seen('flush', 0, 0, false);
    if (seen !== null) this.inner.flush(this.relay(seen, callback));
  }

  /** Tells the interposer about a submission; null when it swallows the request. */
  private seen(
    kind: InterposedKind,
    sector: number,
    sectorCount: number,
    fua: boolean,
  ): InterposedRequest | null {
    const request: InterposedRequest = { kind, sector, sectorCount, fua };
    return this.interposer.submit?.(request) === false ? null : request;
  }

  private heard(request: InterposedRequest, error: BlockIoError | null): boolean {
    return this.interposer.complete?.(request, error) !== false;
  }

  private relay(request: InterposedRequest, callback: CompletionCallback): CompletionCallback {
    return (error) => {
      if (this.heard(request, error)) callback(error);
    };
  }
}
