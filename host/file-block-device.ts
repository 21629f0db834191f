/**
 * A {@link BlockDevice} kept in a real file, for the real log daemon: a
 * backing `disk` log writes its header and bitmap here in the disk log's
 * on-disk format, byte for byte, since the same disk log code writes it.
 *
 * Writes go to the file at once (the page cache); `flush` and FUA writes
 * `fsync` it, so what the daemon acknowledged after a flush survives even
 * a machine crash, and everything written survives `kill -9` of the
 * daemon. Completions run as separate events (`setImmediate`), never
 * inside the call, as the interface requires.
 */
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  writeSync,
} from 'node:fs';
import {
  type BlockDevice,
  BlockIoError,
  type CompletionCallback,
  type DiscardRequest,
  type ReadCallback,
  type ReadRequest,
  type SparseReadCallback,
  type SparseWriteRequest,
  type WriteRequest,
} from '../src/block/block-device.js';
import { checkRange, SECTOR_SIZE_BYTES } from '../src/block/sector.js';

/** Counters of one file device. */
export interface FileBlockDeviceStats {
  reads: number;
  writes: number;
  syncs: number;
}

/** A block device over one file (see the file comment). */
export class FileBlockDevice implements BlockDevice {
  readonly logicalBlockSizeBytes = SECTOR_SIZE_BYTES;
  readonly stats: FileBlockDeviceStats = { reads: 0, writes: 0, syncs: 0 };
  private fd: number | null;

  private constructor(
    readonly name: string,
    readonly path: string,
    readonly sizeSectors: number,
    fd: number,
  ) {
    this.fd = fd;
  }

  /**
   * Opens `path`, creating it, and makes it at least `sizeSectors` long
   * (a longer existing file keeps its size; new bytes read as zeros).
   */
  static open(options: {
    readonly name: string;
    readonly path: string;
    readonly sizeSectors: number;
  }): FileBlockDevice {
    const { name, path, sizeSectors } = options;
    if (!Number.isSafeInteger(sizeSectors) || sizeSectors <= 0) {
      throw new RangeError(
        `Device "${name}" size ${sizeSectors} sectors is not a positive integer`,
      );
    }
    const handle = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    const existingSectors = Math.floor(fstatSync(handle).size / SECTOR_SIZE_BYTES);
    const size = Math.max(existingSectors, sizeSectors);
    if (existingSectors < sizeSectors) ftruncateSync(handle, size * SECTOR_SIZE_BYTES);
    return new FileBlockDevice(name, path, size, handle);
  }

  read(request: ReadRequest, callback: ReadCallback): void {
    checkRange(this, 'read', request);
    const data = new Uint8Array(request.sectorCount * SECTOR_SIZE_BYTES);
    const error = this.attempt('read', () => {
      readSync(this.handle(), data, 0, data.length, request.sector * SECTOR_SIZE_BYTES);
      this.stats.reads++;
    });
    setImmediate(() => callback(error, error === null ? data : null));
  }

  readSparse(request: ReadRequest, callback: SparseReadCallback): void {
    this.read(request, (error, data) =>
      callback(error, data === null ? null : [{ sectorOffset: 0, data }]),
    );
  }

  write(request: WriteRequest, callback: CompletionCallback): void {
    checkRange(this, 'write', {
      sector: request.sector,
      sectorCount: request.data.length / SECTOR_SIZE_BYTES,
    });
    const error = this.attempt('write', () => {
      this.writeAt(request.sector, request.data);
      if (request.fua === true) this.sync();
    });
    setImmediate(() => callback(error));
  }

  writeSparse(request: SparseWriteRequest, callback: CompletionCallback): void {
    checkRange(this, 'write', request);
    const error = this.attempt('write', () => {
      this.writeAt(request.sector, new Uint8Array(request.sectorCount * SECTOR_SIZE_BYTES));
      for (const extent of request.extents) {
        this.writeAt(request.sector + extent.sectorOffset, extent.data);
      }
      if (request.fua === true) this.sync();
    });
    setImmediate(() => callback(error));
  }

  /** Discarded sectors read as zeros, as on the simulated devices. */
  discard(request: DiscardRequest, callback: CompletionCallback): void {
    checkRange(this, 'discard', request);
    const error = this.attempt('discard', () =>
      this.writeAt(request.sector, new Uint8Array(request.sectorCount * SECTOR_SIZE_BYTES)),
    );
    setImmediate(() => callback(error));
  }

  /** An empty PREFLUSH: `fsync`. */
  flush(callback: CompletionCallback): void {
    const error = this.attempt('flush', () => this.sync());
    setImmediate(() => callback(error));
  }

  /** Closes the file; the device may not be used afterwards. */
  close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }

  private writeAt(sector: number, data: Uint8Array): void {
    writeSync(this.handle(), data, 0, data.length, sector * SECTOR_SIZE_BYTES);
    this.stats.writes++;
  }

  private sync(): void {
    fsyncSync(this.handle());
    this.stats.syncs++;
  }

  private handle(): number {
    if (this.fd === null) throw new RangeError(`Device "${this.name}" is closed`);
    return this.fd;
  }

  /** Runs a file operation; a failure becomes the request's EIO. */
  private attempt(operation: string, action: () => void): BlockIoError | null {
    try {
      action();
      return null;
    } catch (error) {
      return new BlockIoError('EIO', this.name, operation, (error as Error).message);
    }
  }
}
