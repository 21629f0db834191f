/**
 * The `disk` dirty log (`dm-log.c`; reference dm-mirror.md §2): the shared
 * bitsets plus a persistent copy of the clean bitmap on a log device, in
 * the format of {@link ./disk-log-format.ts}. The clean bitset lives
 * inside the log's I/O buffer, so what is in memory is exactly what the
 * next header write puts on the device.
 *
 * Table arguments: `disk <#args> <log_dev> <region_size> [sync|nosync]`,
 * e.g. `disk 2 log0 1024` or `disk 3 log0 1024 nosync`.
 */
import { assert } from '../assert.js';
import type { BlockDevice, BlockIoError } from '../block/block-device.js';
import { flushBlocking, readBlocking, writeBlocking } from '../block/blocking-io.js';
import { SECTOR_SIZE_BYTES } from '../block/sector.js';
import type { Blocking } from '../concurrency/blocking.js';
import { EINVAL, EIO, EOPNOTSUPP } from '../errno.js';
import { TableError } from '../table/table-error.js';
import { ChangedSectors } from './_internals/changed-sectors.js';
import {
  describeWords,
  LogContext,
  type LogContextArgs,
  parseLogContextArgs,
} from './_internals/log-context.js';
import { settled, settledVoid } from './_internals/settled.js';
import { bitsetSizeBytes, LeBitset } from './bitset.js';
import type { DirtyLogContext, DirtyLogType, StatusType } from './dirty-log.js';
import {
  coveredRegionCount,
  decodeLogHeader,
  encodeLogHeader,
  LOG_OFFSET_BYTES,
  type LogHeader,
  logBufferSizeBytes,
  MIRROR_DISK_VERSION,
  MIRROR_MAGIC,
  normalizeLogVersion,
} from './disk-log-format.js';
import { registerDirtyLogType } from './registry.js';

/** The registered name. */
export const DISK_LOG_TYPE_NAME = 'disk';

/**
 * A log whose buffer is at least this big (8M regions: a 4 TiB mirror of
 * 512 KiB regions) tells the device which of its sectors changed on each
 * header write (`WriteRequest.changed`). The write stays the kernel's —
 * the whole buffer, its latency and crash states those of the whole — but
 * the simulator no longer copies megabytes that did not change; smaller
 * logs write exactly as before.
 */
export const CHANGED_SECTORS_BUFFER_BYTES_MIN = 1024 * 1024;

/** What `disk_ctr` resolved before building the log. */
export interface DiskLogSetup {
  readonly context: DirtyLogContext;
  readonly device: BlockDevice;
  readonly args: LogContextArgs;
}

/**
 * A `disk` log. `flush` and `postsuspend` are `disk_flush`; `resume` is
 * `disk_resume`. A failed log device is reported once through the
 * context's `raiseEvent` and in the status character (`A`, `D`, `F`); the
 * log keeps trying its writes on later flushes.
 */
export class DiskLog extends LogContext {
  readonly typeName = DISK_LOG_TYPE_NAME;
  /** The log device (`log_dev`). */
  readonly device: BlockDevice;
  private readonly context: DirtyLogContext;
  /** Header, clean bitmap and padding: `buf_size` bytes, read and written whole at sector 0. */
  private readonly buffer: Uint8Array;
  /**
   * `lc->header`. The kernel leaves it uninitialised until the first
   * successful read (`kmalloc`); here it starts zeroed, so a read failure at
   * the first resume writes magic 0 and the next activation starts afresh.
   */
  private readonly header: LogHeader = { magic: 0, version: 0, nrRegions: 0n };
  private logDevFailedFlag = false;
  private logDevFlushFailedFlag = false;
  /** A `disk_flush` or `disk_resume` is waiting on I/O: the state must not change meanwhile. */
  private ioBusy = false;
  private destroyed = false;
  /** What changed in the buffer since the device last took it, for a big buffer; else null. */
  private readonly changed: ChangedSectors | null;

  /** `disk_ctr` after the device is open; prefer {@link createDirtyLog} with the type name. */
  constructor(setup: DiskLogSetup) {
    const { device, args } = setup;
    const bufferSizeBytes = logBufferSizeBytes(args.regionCount, device.logicalBlockSizeBytes);
    const deviceSizeBytes = device.sizeSectors * SECTOR_SIZE_BYTES;
    if (bufferSizeBytes > deviceSizeBytes) {
      throw new TableError(
        `Log device "${device.name}" too small: need ${bufferSizeBytes} bytes for ${args.regionCount} regions, it has ${deviceSizeBytes}`,
      );
    }
    const buffer = new Uint8Array(bufferSizeBytes);
    const cleanBytes = bitsetSizeBytes(args.regionCount);
    super(args, new LeBitset(buffer.subarray(LOG_OFFSET_BYTES, LOG_OFFSET_BYTES + cleanBytes)));
    this.device = device;
    this.context = setup.context;
    this.buffer = buffer;
    this.changed =
      bufferSizeBytes >= CHANGED_SECTORS_BUFFER_BYTES_MIN
        ? new ChangedSectors(bufferSizeBytes / SECTOR_SIZE_BYTES)
        : null;
  }

  /** `disk_dtr`: the log may not be used afterwards. */
  destroy(): Blocking<void> {
    this.destroyed = true;
    return settledVoid();
  }

  /** `disk_flush` as `postsuspend`. */
  postsuspend(): Blocking<number> {
    return this.flush();
  }

  /**
   * `disk_flush` (§2.4): nothing if untouched; the mirror's leg flush first
   * if anything was cleaned (on failure every region goes dirty for good);
   * then the whole buffer to sector 0 without FUA; then a log-device flush
   * only if anything was dirtied. A failed write keeps both touched flags.
   */
  *flush(): Blocking<number> {
    this.beginIo('disk_flush');
    try {
      if (!this.touchedCleanedFlag && !this.touchedDirtiedFlag) return 0;
      if (this.touchedCleanedFlag && this.context.flushCallback !== null) {
        const callbackResult = yield* this.context.flushCallback();
        if (callbackResult !== 0) {
          // Which regions the failed leg flush left clean is unknowable: all become dirty.
          this.flushFailedFlag = true;
          this.clearBits(this.cleanBits, 0, this.regionCount);
        }
      }
      let result = yield* this.writeHeader();
      if (result !== 0) {
        this.failLogDevice();
        return result;
      }
      if (this.touchedDirtiedFlag) {
        result = yield* this.flushHeader();
        if (result !== 0) {
          this.logDevFlushFailedFlag = true;
          this.failLogDevice();
        } else {
          this.touchedDirtiedFlag = false;
        }
      }
      this.touchedCleanedFlag = false;
      return result;
    } finally {
      this.endIo();
    }
  }

  /**
   * `disk_resume` (§2.5): read the buffer; take the disk's bits for the
   * regions it covers, initialise the rest from the sync mode, clear the
   * tail to a 64-bit boundary; load sync from clean; write the whole buffer
   * with `nr_regions = region_count` and flush the log device.
   */
  *resume(): Blocking<number> {
    this.beginIo('disk_resume');
    try {
      const readResult = yield* this.readHeader();
      if (readResult !== 0) {
        this.failLogDevice();
        // Unreadable state: assume every region out of sync (unless nosync).
        this.header.nrRegions = 0n;
      }
      this.initialiseUncoveredRegions();
      this.syncBits.copyFrom(this.cleanBits);
      this.syncCount = this.cleanBits.popcount();
      this.syncSearch = 0;
      this.checkInvariants();
      this.header.nrRegions = BigInt(this.regionCount);
      encodeLogHeader(this.header, this.buffer);
      // Resume writes the buffer as read and rebuilt: all of it, as nothing is known yet.
      this.changed?.markAll();
      let result = yield* this.writeHeader();
      if (result === 0) {
        result = yield* this.flushHeader();
        if (result !== 0) this.logDevFlushFailedFlag = true;
      }
      if (result !== 0) this.failLogDevice();
      return result;
    } finally {
      this.endIo();
    }
  }

  /** `disk_status`: INFO `3 disk <dev> <A|D|F>`; TABLE `disk <2|3> <dev> <region_size> [sync |nosync ]`. */
  status(type: StatusType): Blocking<string> {
    if (type === 'info') {
      const state = this.logDevFlushFailedFlag ? 'F' : this.logDevFailedFlag ? 'D' : 'A';
      return settled(`3 ${this.typeName} ${this.device.name} ${state}`);
    }
    const count = this.statusArgumentCount + 1;
    return settled(`${this.typeName} ${count} ${this.device.name} ${this.statusTableTail()}`);
  }

  // Simulator extensions (read-only; not kernel API).

  /** `log_dev_failed`: some log-device I/O failed (status `D`, or `F` with the next flag). */
  get logDevFailed(): boolean {
    return this.logDevFailedFlag;
  }

  /** `log_dev_flush_failed`: a log-device flush failed (status `F`). */
  get logDevFlushFailed(): boolean {
    return this.logDevFlushFailedFlag;
  }

  /** `buf_size`: the bytes of every header read and write. */
  get bufferSizeBytes(): number {
    return this.buffer.length;
  }

  /** The in-memory header (`lc->header`), as a copy. */
  get headerCopy(): LogHeader {
    return { ...this.header };
  }

  protected override beforeMutation(): void {
    assert(!this.ioBusy, 'disk log state changed while its flush or resume waits on I/O');
  }

  /** Steps 2–3 of `disk_resume`: regions the disk does not cover, then the tail. */
  private initialiseUncoveredRegions(): void {
    const covered = coveredRegionCount(this.header.nrRegions);
    if (this.sync === 'nosync') this.setBits(this.cleanBits, covered, this.regionCount);
    else this.clearBits(this.cleanBits, covered, this.regionCount);
    // "The device has shrunk": clear up to the next BITS_PER_LONG boundary, the bitset's end.
    this.clearBits(this.cleanBits, this.regionCount, this.cleanBits.sizeBits);
  }

  /** `read_header`: the whole buffer from sector 0, then the magic, sync-mode and version rules. */
  private *readHeader(): Blocking<number> {
    const { error, data } = yield* readBlocking(this.device, {
      sector: 0,
      sectorCount: this.buffer.length / SECTOR_SIZE_BYTES,
    });
    if (error !== null) return errnoOf(error);
    assert(data !== null && data.length === this.buffer.length, 'log header read size');
    this.buffer.set(data);
    const header = this.header;
    Object.assign(header, decodeLogHeader(this.buffer));
    if (this.sync !== 'default' || header.magic !== MIRROR_MAGIC) {
      // A new log: nothing on the disk is kept.
      header.magic = MIRROR_MAGIC;
      header.version = MIRROR_DISK_VERSION;
      header.nrRegions = 0n;
    }
    header.version = normalizeLogVersion(header.version);
    return header.version === MIRROR_DISK_VERSION ? 0 : EINVAL;
  }

  /**
   * `rw_header(WRITE)`: the whole buffer at sector 0, a plain write (no
   * FUA), telling the device which sectors changed when the buffer is big.
   */
  private *writeHeader(): Blocking<number> {
    const changed = this.changed?.spansChanged() ?? null;
    const error = yield* writeBlocking(this.device, {
      sector: 0,
      data: this.buffer,
      ...(changed === null ? {} : { changed }),
    });
    // After a failed write nobody knows what the device holds: the next one sends everything.
    if (error === null) this.changed?.clear();
    else this.changed?.markAll();
    return errnoOf(error);
  }

  // The clean bitset is a window into the buffer: its changes are the buffer's.

  protected override setBit(bitset: LeBitset, bit: number): void {
    super.setBit(bitset, bit);
    if (bitset === this.cleanBits) this.markCleanBits(bit, bit + 1);
  }

  protected override clearBit(bitset: LeBitset, bit: number): void {
    super.clearBit(bitset, bit);
    if (bitset === this.cleanBits) this.markCleanBits(bit, bit + 1);
  }

  protected override setBits(bitset: LeBitset, fromBit: number, toBit: number): void {
    super.setBits(bitset, fromBit, toBit);
    if (bitset === this.cleanBits) this.markCleanBits(fromBit, toBit);
  }

  protected override clearBits(bitset: LeBitset, fromBit: number, toBit: number): void {
    super.clearBits(bitset, fromBit, toBit);
    if (bitset === this.cleanBits) this.markCleanBits(fromBit, toBit);
  }

  private markCleanBits(fromBit: number, toBit: number): void {
    this.changed?.markBytes(
      LOG_OFFSET_BYTES + Math.floor(fromBit / 8),
      LOG_OFFSET_BYTES + Math.ceil(toBit / 8),
    );
  }

  /** `flush_header`: an empty PREFLUSH to the log device. */
  private *flushHeader(): Blocking<number> {
    return errnoOf(yield* flushBlocking(this.device));
  }

  /** `fail_log_device`: one event, at the first failure only; the flag is never reset. */
  private failLogDevice(): void {
    if (this.logDevFailedFlag) return;
    this.logDevFailedFlag = true;
    this.context.raiseEvent(`dirty log device "${this.device.name}" failed`);
  }

  private beginIo(what: string): void {
    assert(!this.destroyed, `${what} on a destroyed disk log`);
    assert(!this.ioBusy, `${what} started while another disk log I/O waits`);
    this.ioBusy = true;
  }

  private endIo(): void {
    assert(this.ioBusy, 'disk log I/O ended twice');
    this.ioBusy = false;
  }
}

function errnoOf(error: BlockIoError | null): number {
  if (error === null) return 0;
  return error.errno === 'EOPNOTSUPP' ? EOPNOTSUPP : EIO;
}

/** Sectors a log device needs for `regionSizeText`-sector regions (512-byte blocks); 1 if unparsable. */
function minimumLogDeviceSectors(
  regionSizeText: string | undefined,
  targetLengthSectors: number,
): number {
  const regionSizeSectors = Number(regionSizeText);
  if (!Number.isSafeInteger(regionSizeSectors) || regionSizeSectors < 1) return 1;
  const regionCount = Math.ceil(targetLengthSectors / regionSizeSectors);
  return logBufferSizeBytes(regionCount, SECTOR_SIZE_BYTES) / SECTOR_SIZE_BYTES;
}

/** The `disk` log type: `<log_dev> <region_size> [sync|nosync]`. */
export const diskLogType: DirtyLogType = {
  name: DISK_LOG_TYPE_NAME,
  summary:
    'persistent dirty log: clean bitmap on a log device, written before data (resync only dirty regions)',
  create(context: DirtyLogContext, args: readonly string[]): DiskLog {
    if (args.length < 2 || args.length > 3) {
      throw new TableError(
        `Wrong number of arguments to disk dirty region log: got ${describeWords(args)}, expected 2 or 3 (<log_dev> <region_size> [sync|nosync])`,
      );
    }
    // As disk_ctr: open the device first, then validate the rest. The size hint lets a simulator
    // create a missing log device big enough; it is only a hint, so a bad region size here just
    // gives the smallest device and the validation below reports it.
    const device = context.getDevice(
      args[0]!,
      minimumLogDeviceSectors(args[1], context.targetLengthSectors),
    );
    const parsed = parseLogContextArgs(args.slice(1), context.targetLengthSectors);
    return new DiskLog({ context, device, args: parsed });
  },
  defaultTableArgs: ({ regionSizeSectors, logDeviceName }) => [
    logDeviceName,
    String(regionSizeSectors),
  ],
};

registerDirtyLogType(diskLogType);
