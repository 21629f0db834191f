/**
 * A real drive's volatile write cache is bounded: it writes its contents
 * back on its own, flush or no flush. The simulated devices keep every
 * completed write volatile until someone flushes, which a workload that
 * flushes now and then never notices; a client that never flushes (fio
 * without `fsync=`, with a `core` log that never flushes the legs) would
 * make the caches, and the server's memory, grow without end. So when a
 * device holds more than `cacheWritesMax` writes that are not durable, it
 * is flushed directly — the drive destaging its cache, below the mirror.
 *
 * This only makes writes durable earlier than a flush would: the oracle
 * never counts it as a client's flush, so nothing is promised that the
 * client was not promised, and a crash can still lose up to
 * `cacheWritesMax` writes per device.
 */
import { assert } from '../../src/assert.js';
import type { SimulatedDevice } from '../../src/block/simulated-device.js';

/** How many not-yet-durable writes a device holds before it writes back on its own (default). */
export const CACHE_WRITES_MAX_DEFAULT = 256;

/** Bounds every device's volatile cache by writing it back on its own (see the file comment). */
export class DriveWriteBack {
  private readonly destaging = new Set<SimulatedDevice>();
  /** Write-backs started, over every device. */
  destages = 0;

  constructor(
    private readonly devices: () => readonly SimulatedDevice[],
    private readonly cacheWritesMax: number,
  ) {
    assert(
      Number.isSafeInteger(cacheWritesMax) && cacheWritesMax >= 1,
      `cache size ${cacheWritesMax} is not a whole number of writes ≥ 1`,
    );
  }

  /** Starts a write-back on every device whose cache is over the limit (one at a time per device). */
  check(): void {
    for (const device of this.devices()) {
      if (!device.writeCache || this.destaging.has(device)) continue;
      if (device.nonDurableWriteCount - device.inFlightWriteCount <= this.cacheWritesMax) continue;
      this.destaging.add(device);
      this.destages++;
      device.flush(() => this.destaging.delete(device));
    }
  }

  /** A power cut: every flush in flight is gone. */
  reset(): void {
    this.destaging.clear();
  }
}
