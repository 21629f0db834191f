/**
 * The blocks a generated workload addresses: the device cut into
 * block-size pieces from sector 0. A tail shorter than one block is never
 * addressed, so every request is block-aligned and lies inside the device.
 */
import { assert } from '../../src/assert.js';
import { DEVICE_SIZE_SECTORS_MAX } from '../../src/block/sector.js';
import type { WorkloadOp, WorkloadOptions, WorkloadRequest } from './workload.js';

/** A device seen as `blockCount` aligned blocks of `blockSizeSectors` sectors. */
export class BlockSpace {
  readonly deviceSizeSectors: number;
  readonly blockSizeSectors: number;
  readonly blockCount: number;

  /** Validates the geometry and request count every generator shares. */
  constructor(options: WorkloadOptions) {
    const { deviceSizeSectors, blockSizeSectors, ops } = options;
    checkDeviceSize(deviceSizeSectors);
    if (!Number.isSafeInteger(blockSizeSectors) || blockSizeSectors <= 0) {
      throw new RangeError(
        `Workload block size ${blockSizeSectors} sectors is not valid: expected a positive integer`,
      );
    }
    if (blockSizeSectors > deviceSizeSectors) {
      throw new RangeError(
        `Workload block size ${blockSizeSectors} sectors is larger than the device (${deviceSizeSectors} sectors)`,
      );
    }
    checkOps(ops);
    this.deviceSizeSectors = deviceSizeSectors;
    this.blockSizeSectors = blockSizeSectors;
    this.blockCount = Math.floor(deviceSizeSectors / blockSizeSectors);
    assert(this.blockCount >= 1, 'a block space holds at least one block');
  }

  /** The request for one whole block. */
  request(op: WorkloadOp, block: number): WorkloadRequest {
    assert(Number.isSafeInteger(block) && block >= 0, `block ${block} is not an index`);
    assert(block < this.blockCount, `block ${block} is past the last of ${this.blockCount}`);
    const sector = block * this.blockSizeSectors;
    assert(sector + this.blockSizeSectors <= this.deviceSizeSectors, 'block ends past the device');
    return { op, sector, sectorCount: this.blockSizeSectors, fua: false };
  }
}

/** Rejects a request count that is not a non-negative safe integer. */
/** Checks the size of the device a workload addresses. */
export function checkDeviceSize(deviceSizeSectors: number): void {
  if (
    !Number.isSafeInteger(deviceSizeSectors) ||
    deviceSizeSectors <= 0 ||
    deviceSizeSectors > DEVICE_SIZE_SECTORS_MAX
  ) {
    throw new RangeError(
      `Workload device size ${deviceSizeSectors} sectors is not valid: expected an integer from 1 to ${DEVICE_SIZE_SECTORS_MAX}`,
    );
  }
}

export function checkOps(ops: number): void {
  if (!Number.isSafeInteger(ops) || ops < 0) {
    throw new RangeError(`Workload ops ${ops} is not valid: expected an integer ≥ 0`);
  }
}
