/**
 * What a crash could leave a persistent dirty log saying about a region.
 * A crash keeps the log device's durable image plus any subset of its
 * not-yet-durable writes, so a region is "potentially clean" when its clean
 * bit is set (under a valid header that covers it) in the durable image or
 * in any pending write of the log buffer. The checker uses this to prove
 * that no crash state can start a region in sync while its legs may differ.
 */
import { SECTOR_SIZE_BYTES } from '../../src/block/sector.js';
import type { SimulatedDevice } from '../../src/block/simulated-device.js';
import {
  coveredRegionCount,
  decodeLogHeader,
  isCompatibleLogVersion,
  LOG_OFFSET_BYTES,
  MIRROR_MAGIC,
} from '../../src/log/disk-log-format.js';

export interface LogPersistence {
  /** Could some crash state of the log start `region` clean (in sync) at the next resume? */
  potentiallyClean(region: number): boolean;
  /**
   * Whether a write of `data` at `sector` to the log device, if it lands,
   * would start `region` clean at the next resume.
   */
  cleanInWrite(data: Uint8Array, sector: number, region: number): boolean;
  /** The device the log persists to, so the checker can watch it. */
  readonly device: SimulatedDevice;
}

/** The `disk` log's on-disk format (also what a userspace daemon's disk log writes). */
export class DiskLogPersistence implements LogPersistence {
  private readonly scratch = new Uint8Array(SECTOR_SIZE_BYTES);

  constructor(
    readonly device: SimulatedDevice,
    private readonly regionCount: number,
  ) {}

  potentiallyClean(region: number): boolean {
    if (this.durableClean(region)) return true;
    for (const write of this.device.crashCandidates()) {
      if (write.data !== null && this.cleanInWrite(write.data, write.sector, region)) return true;
    }
    return false;
  }

  cleanInWrite(data: Uint8Array, sector: number, region: number): boolean {
    const base = sector * SECTOR_SIZE_BYTES;
    const bitByte = LOG_OFFSET_BYTES + (region >> 3) - base;
    if (bitByte < 0 || bitByte >= data.length) return false;
    if (((data[bitByte]! >> (region & 7)) & 1) === 0) return false;
    // The write carries the bit; it counts if its own header is valid, or if it leaves the
    // header alone and the durable one is valid (a torn write may land either way).
    if (base === 0 && data.length >= 16) return this.headerCovers(data.subarray(0, 16), region);
    return this.durableHeaderCovers(region);
  }

  private durableClean(region: number): boolean {
    if (!this.durableHeaderCovers(region)) return false;
    const bitByte = LOG_OFFSET_BYTES + (region >> 3);
    const sector = Math.floor(bitByte / SECTOR_SIZE_BYTES);
    this.device.durableContent.readInto(sector, 1, this.scratch, 0);
    return ((this.scratch[bitByte - sector * SECTOR_SIZE_BYTES]! >> (region & 7)) & 1) === 1;
  }

  private durableHeaderCovers(region: number): boolean {
    this.device.durableContent.readInto(0, 1, this.scratch, 0);
    return this.headerCovers(this.scratch, region);
  }

  private headerCovers(headerBytes: Uint8Array, region: number): boolean {
    const header = decodeLogHeader(headerBytes);
    if (header.magic !== MIRROR_MAGIC || !isCompatibleLogVersion(header.version)) return false;
    return region < Math.min(coveredRegionCount(header.nrRegions), this.regionCount);
  }
}
