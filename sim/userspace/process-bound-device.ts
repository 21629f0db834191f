/**
 * A block device as one process sees it: requests go to the real device
 * while the process lives; once it has died, it issues nothing more and
 * its completions go nowhere. What was already submitted still completes
 * on the device, as the block layer finishes I/O of a killed process. The
 * simulated log daemon opens its backing devices through this, so that a
 * daemon crash stops its handler mid-flush without it writing afterwards.
 */
import type { BlockDevice } from '../../src/block/block-device.js';
import { InterposedDevice } from '../../src/block/interposed-device.js';

/** `device` seen by the process whose liveness `alive` reports. */
export class ProcessBoundDevice extends InterposedDevice {
  constructor(device: BlockDevice, alive: () => boolean) {
    super(device, { submit: alive, complete: alive });
  }

  /** The device behind the process's view. */
  get device(): BlockDevice {
    return this.inner;
  }
}
