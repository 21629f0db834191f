/**
 * The on-disk format of the `disk` log (and of `clustered-disk`, which uses
 * the same layout): reference dm-mirror.md §2.2, from `dm-log.c`'s
 * `struct log_header_disk`, `header_to_disk`, `header_from_disk` and
 * `create_log_context`.
 *
 * ```
 * byte 0     magic       LE u32  0x4D695272 ("MiRr", bytes 72 52 69 4D)
 * byte 4     version     LE u32  2 (1 is accepted as 2 on little-endian hosts)
 * byte 8     nr_regions  LE u64  the region count the bitmap was written for
 * byte 16    (not interpreted; kept as read)
 * byte 1024  clean bitmap, bit r = bit (r & 7) of byte 1024 + (r >> 3); 1 = clean
 * ...        padding up to the log device's logical block size
 * ```
 */
import { SECTOR_SIZE_BYTES } from '../block/sector.js';
import type { SparseStore } from '../block/sparse-store.js';
import { bitsetSizeBytes, LeBitset } from './bitset.js';

/** `MIRROR_MAGIC`: "MiRr" read as a little-endian u32. */
export const MIRROR_MAGIC = 0x4d695272;
/** `MIRROR_DISK_VERSION`. */
export const MIRROR_DISK_VERSION = 2;
/** `LOG_OFFSET`: the clean bitmap starts this many sectors into the log device. */
export const LOG_OFFSET_SECTORS = 2;
/** `LOG_OFFSET << SECTOR_SHIFT`: the clean bitmap's byte offset (1024). */
export const LOG_OFFSET_BYTES = LOG_OFFSET_SECTORS * SECTOR_SIZE_BYTES;
/** Size of the packed `struct log_header_disk`. */
export const LOG_HEADER_SIZE_BYTES = 16;

/** `struct log_header_core`: the header as the log holds it in memory. */
export interface LogHeader {
  magic: number;
  version: number;
  /** A u64 on disk, so a bigint: garbage on a device can exceed 2^53. */
  nrRegions: bigint;
}

/** `header_to_disk`: writes the 16 header bytes at the start of `buffer`. */
export function encodeLogHeader(header: LogHeader, buffer: Uint8Array): void {
  const view = headerView(buffer);
  view.setUint32(0, header.magic >>> 0, true);
  view.setUint32(4, header.version >>> 0, true);
  view.setBigUint64(8, BigInt.asUintN(64, header.nrRegions), true);
}

/** `header_from_disk`: reads the 16 header bytes at the start of `buffer`. */
export function decodeLogHeader(buffer: Uint8Array): LogHeader {
  const view = headerView(buffer);
  return {
    magic: view.getUint32(0, true),
    version: view.getUint32(4, true),
    nrRegions: view.getBigUint64(8, true),
  };
}

/**
 * `read_header`'s version rule on a little-endian host: version 1 (the old
 * native-endian format, identical on LE) is taken as version 2.
 */
export function normalizeLogVersion(version: number): number {
  return version === 1 ? MIRROR_DISK_VERSION : version;
}

/** Whether `read_header` accepts a header's version (after the version-1 rule). */
export function isCompatibleLogVersion(version: number): boolean {
  return normalizeLogVersion(version) === MIRROR_DISK_VERSION;
}

/**
 * `buf_size = round_up(1024 + bitset_size, logical_block_size)`: the bytes
 * the disk log reads and writes at sector 0 on every header I/O (§2.1).
 */
export function logBufferSizeBytes(regionCount: number, logicalBlockSizeBytes: number): number {
  if (!Number.isSafeInteger(logicalBlockSizeBytes) || logicalBlockSizeBytes < SECTOR_SIZE_BYTES) {
    throw new RangeError(
      `Logical block size ${logicalBlockSizeBytes} bytes is not an integer ≥ ${SECTOR_SIZE_BYTES}`,
    );
  }
  const needed = LOG_OFFSET_BYTES + bitsetSizeBytes(regionCount);
  return Math.ceil(needed / logicalBlockSizeBytes) * logicalBlockSizeBytes;
}

/**
 * The loop start `disk_resume` uses for "regions not covered by disk state":
 * its counter is an `unsigned int`, so only the low 32 bits of `nr_regions`
 * count.
 */
export function coveredRegionCount(nrRegions: bigint): number {
  return Number(BigInt.asUintN(32, nrRegions));
}

/** A log device's header and clean bitmap, decoded without any log instance. */
export interface DiskLogImage {
  readonly header: LogHeader;
  /** The magic is right and the version is 1 or 2: a default-mode resume keeps the bitmap. */
  readonly valid: boolean;
  /** The clean bitmap as stored (`bitset_size` bytes for the given region count). */
  readonly cleanBits: LeBitset;
  /**
   * Whether a default-mode (`disk <dev> <size>`) resume that reads this image
   * without error starts `region` clean, hence in sync: the image is valid,
   * the region is covered by `nr_regions`, and its bit is 1 (§2.5).
   */
  cleanOnResume(region: number): boolean;
}

/**
 * Decodes the header and the clean bitmap of a log device image for a log
 * of `regionCount` regions: for crash-consistency checks that compare the
 * on-disk bitmap with a mirror's state. Reads the store only.
 */
export function readDiskLogImage(store: SparseStore, regionCount: number): DiskLogImage {
  const bitsetBytes = bitsetSizeBytes(regionCount);
  const sectorCount = Math.ceil((LOG_OFFSET_BYTES + bitsetBytes) / SECTOR_SIZE_BYTES);
  if (sectorCount > store.sizeSectors) {
    throw new RangeError(
      `Log image of ${store.sizeSectors} sectors cannot hold ${regionCount} regions: expected at least ${sectorCount} sectors`,
    );
  }
  const bytes = store.read(0, sectorCount);
  const header = decodeLogHeader(bytes);
  const cleanBits = new LeBitset(bytes.subarray(LOG_OFFSET_BYTES, LOG_OFFSET_BYTES + bitsetBytes));
  const valid = header.magic === MIRROR_MAGIC && isCompatibleLogVersion(header.version);
  const covered = Math.min(coveredRegionCount(header.nrRegions), regionCount);
  return {
    header,
    valid,
    cleanBits,
    cleanOnResume(region: number): boolean {
      if (!Number.isSafeInteger(region) || region < 0 || region >= regionCount) {
        throw new RangeError(
          `Region ${region} is out of range: expected an integer from 0 to ${regionCount - 1}`,
        );
      }
      return valid && region < covered && cleanBits.test(region) === 1;
    },
  };
}

function headerView(buffer: Uint8Array): DataView {
  if (buffer.length < LOG_HEADER_SIZE_BYTES) {
    throw new RangeError(
      `Log header buffer of ${buffer.length} bytes is too short: expected at least ${LOG_HEADER_SIZE_BYTES}`,
    );
  }
  return new DataView(buffer.buffer, buffer.byteOffset, LOG_HEADER_SIZE_BYTES);
}
