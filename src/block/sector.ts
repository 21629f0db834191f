/**
 * Sector geometry and request validation shared by every block device.
 * Devices address 512-byte sectors, as the kernel does.
 */

export const SECTOR_SIZE_BYTES = 512;
export const SECTOR_SHIFT = 9;
/** The largest device size mirrorsim supports: 2^50 bytes (1 PiB). */
export const DEVICE_SIZE_BYTES_MAX = 2 ** 50;
export const DEVICE_SIZE_SECTORS_MAX = DEVICE_SIZE_BYTES_MAX / SECTOR_SIZE_BYTES;

/** A half-open run of sectors `[sector, sector + sectorCount)`. */
export interface SectorRange {
  readonly sector: number;
  readonly sectorCount: number;
}

export interface DeviceGeometry {
  readonly name: string;
  readonly sizeSectors: number;
  readonly logicalBlockSizeBytes: number;
}

/** Checks a device size and block size at construction. */
export function checkGeometry(geometry: DeviceGeometry): void {
  const { name, sizeSectors, logicalBlockSizeBytes } = geometry;
  if (!Number.isSafeInteger(sizeSectors) || sizeSectors <= 0) {
    throw new RangeError(`Device "${name}" size ${sizeSectors} sectors is not a positive integer`);
  }
  if (sizeSectors > DEVICE_SIZE_SECTORS_MAX) {
    throw new RangeError(
      `Device "${name}" size ${sizeSectors} sectors exceeds the maximum ${DEVICE_SIZE_SECTORS_MAX} (2^50 bytes)`,
    );
  }
  const blockSectors = logicalBlockSizeBytes / SECTOR_SIZE_BYTES;
  if (
    !Number.isSafeInteger(blockSectors) ||
    blockSectors < 1 ||
    (blockSectors & (blockSectors - 1)) !== 0 ||
    logicalBlockSizeBytes > 65536
  ) {
    throw new RangeError(
      `Device "${name}" logical block size ${logicalBlockSizeBytes} is not a power of two from 512 to 65536 bytes`,
    );
  }
  if (sizeSectors % blockSectors !== 0) {
    throw new RangeError(
      `Device "${name}" size ${sizeSectors} sectors is not a multiple of its ${logicalBlockSizeBytes}-byte blocks`,
    );
  }
}

/**
 * Rejects a request that is empty, out of range or not aligned to the
 * device's logical block size, with a RangeError naming both.
 */
export function checkRange(geometry: DeviceGeometry, operation: string, range: SectorRange): void {
  const { sector, sectorCount } = range;
  const blockSectors = geometry.logicalBlockSizeBytes / SECTOR_SIZE_BYTES;
  // Every request passes here: check first, and build a message only for a bad one.
  if (
    Number.isSafeInteger(sector) &&
    sector >= 0 &&
    Number.isSafeInteger(sectorCount) &&
    sectorCount > 0 &&
    sector + sectorCount <= geometry.sizeSectors &&
    (blockSectors === 1 || (sector % blockSectors === 0 && sectorCount % blockSectors === 0))
  ) {
    return;
  }
  const where = `${operation} of ${sectorCount} sectors at sector ${sector} on device "${geometry.name}"`;
  if (!Number.isSafeInteger(sector) || sector < 0) {
    throw new RangeError(`Invalid ${where}: the start sector is not an integer ≥ 0`);
  }
  if (!Number.isSafeInteger(sectorCount) || sectorCount <= 0) {
    throw new RangeError(`Invalid ${where}: the length is not a positive whole number of sectors`);
  }
  if (sector + sectorCount > geometry.sizeSectors) {
    throw new RangeError(
      `Invalid ${where}: it ends past the device's last sector (size ${geometry.sizeSectors} sectors)`,
    );
  }
  if (blockSectors > 1 && (sector % blockSectors !== 0 || sectorCount % blockSectors !== 0)) {
    throw new RangeError(
      `Invalid ${where}: not aligned to the device's ${geometry.logicalBlockSizeBytes}-byte logical blocks`,
    );
  }
}

/** The number of whole sectors in `data`, or a RangeError if it is not whole sectors. */
export function sectorsOfBuffer(
  geometry: DeviceGeometry,
  operation: string,
  data: Uint8Array,
): number {
  if (data.length === 0 || data.length % SECTOR_SIZE_BYTES !== 0) {
    throw new RangeError(
      `Invalid ${operation} on device "${geometry.name}": data of ${data.length} bytes is not a positive multiple of ${SECTOR_SIZE_BYTES}`,
    );
  }
  return data.length / SECTOR_SIZE_BYTES;
}
