/**
 * kcopyd (drivers/md/dm-kcopyd.c), as far as dm-raid1's recovery uses it:
 * copy one source range to up to 8 destinations, report a read error and a
 * bitmask of destinations that failed. Copies are sparse-aware: only data
 * written on the source is transferred, and destination ranges are replaced
 * whole, so resyncing a huge, mostly unwritten region costs what was written.
 *
 * Throttling follows `raid1_resync_throttle` (a percentage, 100 = off): after
 * a copy that kept the devices busy for `d` ticks, the completion is held
 * back `d·(100 − p)/p` ticks so the copy uses at most p % of the time.
 *
 * On a read error without IGNORE_ERROR the job ends at once. With it, the
 * kernel goes on to write whatever its pages held to every destination; the
 * simulator writes a recognisable stale-page pattern ({@link STALE_PAGE_BYTE})
 * so that consequence of running without `handle_errors` stays visible.
 */
import { assert } from '../assert.js';
import type { BlockDevice } from '../block/block-device.js';
import { SECTOR_SIZE_BYTES } from '../block/sector.js';
import type { SparseExtent } from '../block/sparse-store.js';
import type { Scheduler } from '../world/scheduler.js';

/** `DM_KCOPYD_MAX_REGIONS`: destinations per copy. */
export const DM_KCOPYD_MAX_REGIONS = 8;

/** The byte a stale kcopyd page is filled with when a failed read is copied anyway. */
export const STALE_PAGE_BYTE = 0xde;

export interface KcopydRegion {
  readonly device: BlockDevice;
  readonly sector: number;
  readonly sectorCount: number;
}

/** `dm_kcopyd_notify_fn`: read error (true/false) and a bitmask of failed destinations. */
export type KcopydCallback = (readError: boolean, writeErrorBits: number) => void;

export interface KcopydStats {
  copies: number;
  sectorsCopied: number;
}

export class KcopydClient {
  readonly stats: KcopydStats = { copies: 0, sectorsCopied: 0 };
  private jobsInFlight = 0;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly throttlePercent: number = 100,
  ) {
    if (!Number.isInteger(throttlePercent) || throttlePercent < 1 || throttlePercent > 100) {
      throw new RangeError(`Resync throttle ${throttlePercent} % is not an integer from 1 to 100`);
    }
  }

  /** Copies queued or running. */
  get busy(): number {
    return this.jobsInFlight;
  }

  /** `dm_kcopyd_copy`. `ignoreError` is `DM_KCOPYD_IGNORE_ERROR`: carry on after a read error. */
  copy(
    from: KcopydRegion,
    destinations: readonly KcopydRegion[],
    options: { readonly ignoreError: boolean },
    callback: KcopydCallback,
  ): void {
    assert(destinations.length > 0, 'kcopyd copy without destinations');
    assert(destinations.length <= DM_KCOPYD_MAX_REGIONS, 'kcopyd copy with too many destinations');
    for (const destination of destinations) {
      assert(
        destination.sectorCount === from.sectorCount,
        'kcopyd destination size differs from source',
      );
    }
    this.jobsInFlight++;
    const startedTicks = this.scheduler.now();
    const finish = (readError: boolean, writeErrorBits: number) => {
      this.stats.copies++;
      this.stats.sectorsCopied += from.sectorCount;
      const busyTicks = this.scheduler.now() - startedTicks;
      const holdTicks = Math.floor(
        (busyTicks * (100 - this.throttlePercent)) / this.throttlePercent,
      );
      const complete = () => {
        this.jobsInFlight--;
        callback(readError, writeErrorBits);
      };
      if (holdTicks > 0) this.scheduler.schedule(holdTicks, 'kcopyd.throttle', complete);
      else complete();
    };
    from.device.readSparse(
      { sector: from.sector, sectorCount: from.sectorCount },
      (error, extents) => {
        const readError = error !== null || extents === null;
        if (readError && !options.ignoreError) {
          finish(true, 0);
          return;
        }
        const payload = extents ?? [stalePages(from.sectorCount)];
        let remaining = destinations.length;
        let writeErrorBits = 0;
        destinations.forEach((destination, index) => {
          destination.device.writeSparse(
            { sector: destination.sector, sectorCount: destination.sectorCount, extents: payload },
            (writeError) => {
              if (writeError !== null) writeErrorBits |= 1 << index;
              remaining--;
              if (remaining === 0) finish(readError, writeErrorBits);
            },
          );
        });
      },
    );
  }
}

function stalePages(sectorCount: number): SparseExtent {
  return {
    sectorOffset: 0,
    data: new Uint8Array(sectorCount * SECTOR_SIZE_BYTES).fill(STALE_PAGE_BYTE),
  };
}
