/**
 * cmirrord's log device I/O, `read_log`, `write_log` and `rw_log`
 * (reference userspace-and-cluster-logs.md §4.7): one page-aligned buffer
 * of `(ceil(region_count / page_size) + 1) * page_size` bytes, read and
 * written whole at offset 0 — the kernel disk log's format (header, clean
 * bitmap at byte 1024), with the header copied in host order.
 *
 * The device is opened `O_RDWR | O_DIRECT`: a write is a plain write to
 * the device, with no cache flush and no FUA. O_DIRECT bypasses the page
 * cache, not the device's volatile write cache, so over a log device with
 * one a completed write — the clean bits a FLUSH just recorded — is not
 * durable until the device writes it back on its own or someone flushes
 * it. cmirrord never does; neither does this model.
 */
import type { BlockDevice } from '../../block/block-device.js';
import { readBlocking, writeBlocking } from '../../block/blocking-io.js';
import { SECTOR_SIZE_BYTES } from '../../block/sector.js';
import type { Blocking } from '../../concurrency/blocking.js';
import { EINVAL, EIO } from '../../errno.js';
import { LOG_OFFSET_BYTES, MIRROR_DISK_VERSION, MIRROR_MAGIC } from '../disk-log-format.js';
import type { DmBitset } from './dm-bitset.js';

/** `sysconf(_SC_PAGESIZE)` on the modelled hosts. */
export const CMIRRORD_PAGE_SIZE_BYTES = 4096;

/** What `read_log` found. */
export type ClogReadResult =
  | { readonly error: 0; readonly diskNrRegions: bigint }
  /** -EINVAL: bad magic, nothing copied; -EIO: the read failed. */
  | { readonly error: number };

/** `disk_size`: `(ceil(region_count / page_size) + 1) * page_size` bytes (the bit count over the page size). */
export function clogDiskBufferBytes(regionCount: number): number {
  return (Math.ceil(regionCount / CMIRRORD_PAGE_SIZE_BYTES) + 1) * CMIRRORD_PAGE_SIZE_BYTES;
}

/** One log's device and `disk_buffer`. */
export class ClogDisk {
  readonly device: BlockDevice;
  /** `disk_buffer`: what the last read left, then every write's image. */
  private readonly buffer: Uint8Array;
  private readonly bitmapBytes: number;
  /** Writes issued (for the benchmark). */
  writes = 0;

  constructor(device: BlockDevice, regionCount: number) {
    this.device = device;
    this.buffer = new Uint8Array(clogDiskBufferBytes(regionCount));
    this.bitmapBytes = Math.ceil(regionCount / 8);
  }

  /** `disk_size` in sectors: what the device must hold. */
  get sizeSectors(): number {
    return this.buffer.length / SECTOR_SIZE_BYTES;
  }

  /**
   * `read_log`: the whole buffer from offset 0; -EIO if the read fails or
   * comes up short; -EINVAL for a bad magic (the version is not looked
   * at); otherwise the clean bitmap's `ceil(region_count / 8)` bytes into
   * `cleanBits` and the header's `nr_regions`.
   */
  *read(cleanBits: DmBitset): Blocking<ClogReadResult> {
    if (this.device.sizeSectors < this.sizeSectors) return { error: EIO };
    const result = yield* readBlocking(this.device, { sector: 0, sectorCount: this.sizeSectors });
    if (result.error !== null || result.data === null) return { error: EIO };
    this.buffer.set(result.data);
    const view = new DataView(this.buffer.buffer);
    if (view.getUint32(0, true) !== MIRROR_MAGIC) return { error: EINVAL };
    cleanBits
      .bytes(this.bitmapBytes)
      .set(this.buffer.subarray(LOG_OFFSET_BYTES, LOG_OFFSET_BYTES + this.bitmapBytes));
    return { error: 0, diskNrRegions: view.getBigUint64(8, true) };
  }

  /**
   * `write_log`: header (magic, version 2, `nr_regions`) and the clean
   * bitmap into the buffer, then the whole buffer at offset 0 — no FUA,
   * no flush. 0, or -EIO when the write fails.
   */
  *write(cleanBits: DmBitset, regionCount: number): Blocking<number> {
    const view = new DataView(this.buffer.buffer);
    view.setUint32(0, MIRROR_MAGIC, true);
    view.setUint32(4, MIRROR_DISK_VERSION, true);
    view.setBigUint64(8, BigInt(regionCount), true);
    this.buffer.set(cleanBits.bytes(this.bitmapBytes), LOG_OFFSET_BYTES);
    this.writes++;
    if (this.device.sizeSectors < this.sizeSectors) return EIO;
    const error = yield* writeBlocking(this.device, { sector: 0, data: this.buffer.slice() });
    return error === null ? 0 : EIO;
  }
}
