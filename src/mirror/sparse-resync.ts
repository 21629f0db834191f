/**
 * Sparse resync, an option of the mirror set beyond Linux (off by
 * default; `mirrorsim run` turns it on): a resync copy of a region that is
 * unwritten on every leg copies zeros onto zeros, so regions like that are
 * recovered in one step per run of them instead of one kcopyd copy, one
 * kmirrord pass and one log flush each. A fresh 16 TiB mirror has 2^25
 * such regions; recovered one by one they take hours of CPU for nothing.
 *
 * What stays as Linux has it:
 * - the log sees, for each region in order, `get_resync_work`, then
 *   `clear_region` and `set_region_sync(region, 1)`, through the run-at-once
 *   calls (src/log/resync-run.ts) that leave the very state the calls one
 *   by one leave; one log flush ends each run, as one would end the last
 *   region's pass;
 * - the sync count advances, by a run at a time (at most
 *   {@link sparseResyncRunRegionsMax} regions);
 * - simulated time: the pass holds kmirrord for as long as the run would
 *   have taken, each region charged the mean cycle of the regions copied
 *   in full so far (from one `recover` to the next; the latencies are
 *   random, so one cycle alone is a poor guess), and writes that arrive
 *   meanwhile wait as they would have. Until
 *   {@link SPARSE_RESYNC_CYCLES_MEASURED} cycles were measured, regions go
 *   the faithful way.
 *
 * A run is only taken while nothing else is going on: no recovery in
 * flight, no region held by the region hash (no write pending or cached),
 * no log or leg failure, recovery not stopped, and a log that takes runs
 * at once. Anything else — a region with data on any leg included — goes
 * the faithful way.
 */
import { type Blocking, waitFor } from '../concurrency/blocking.js';
import type { DirtyLog } from '../log/dirty-log.js';
import { resyncRunLogOf } from '../log/resync-run.js';
import type { Scheduler } from '../world/scheduler.js';
import type { Leg } from './leg.js';
import type { RegionHash } from './region-hash.js';

/** The fewest regions a run may take, whatever the mirror's size. */
export const SPARSE_RESYNC_RUN_REGIONS_MIN = 4096;
/** Cycles of regions copied in full that are measured before the first run is taken. */
export const SPARSE_RESYNC_CYCLES_MEASURED = 8;
/** At most this many runs make a whole resync, so the sync count moves at least this often. */
export const SPARSE_RESYNC_RUNS_PER_RESYNC = 64;

/** The most regions one run takes on a mirror of `regionCount` regions. */
export function sparseResyncRunRegionsMax(regionCount: number): number {
  return Math.max(
    SPARSE_RESYNC_RUN_REGIONS_MIN,
    Math.ceil(regionCount / SPARSE_RESYNC_RUNS_PER_RESYNC),
  );
}

/** What sparse resync sees of its mirror set. */
export interface SparseResyncMirror {
  readonly scheduler: Scheduler;
  readonly log: DirtyLog;
  readonly rh: RegionHash;
  readonly legs: readonly Leg[];
  readonly lengthSectors: number;
  readonly regionCount: number;
  /** No log failure, no leg failure, no copy in flight. */
  readonly quiet: boolean;
  /** Counts a run as recovered (stats and hooks), as `recovery_complete` does one region. */
  recovered(firstRegion: number, count: number, sectorCount: number): void;
}

/** The sparse resync of one mirror set (see the file comment). */
export class SparseResync {
  /** Cycles measured (from one `recover` to the next, in a row) and their total ticks. */
  private cycles = 0;
  private cycleTicksTotal = 0;
  private lastRecoverTicks: number | null = null;
  private readonly runRegionsMax: number;

  constructor(private readonly mirror: SparseResyncMirror) {
    this.runRegionsMax = sparseResyncRunRegionsMax(mirror.regionCount);
  }

  /** `recover` started a faithful copy now: measures the cycle a region takes. */
  noteRecover(): void {
    const now = this.mirror.scheduler.now();
    if (this.lastRecoverTicks !== null) {
      this.cycles++;
      this.cycleTicksTotal += now - this.lastRecoverTicks;
    }
    this.lastRecoverTicks = now;
  }

  /** The mean cycle of a region copied in full, once enough were measured; else null. */
  private get cycleTicks(): number | null {
    if (this.cycles < SPARSE_RESYNC_CYCLES_MEASURED) return null;
    return Math.round(this.cycleTicksTotal / this.cycles);
  }

  /**
   * Recovers the next run of regions unwritten on every leg, if there is
   * one and nothing else is going on; returns how many (0: the faithful
   * way goes on).
   */
  *recoverRun(): Blocking<number> {
    const { mirror } = this;
    const log = resyncRunLogOf(mirror.log);
    const cycleTicks = this.cycleTicks;
    if (log === null || cycleTicks === null || !mirror.quiet) return 0;
    if (mirror.rh.recoveryInFlight !== 0 || mirror.rh.size !== 0 || !mirror.rh.recoveryAllowed) {
      return 0;
    }
    const first = log.peekResyncWork();
    if (first < 0) return 0;
    const end = this.unwrittenEnd(first);
    if (end === first) return 0;
    const count = log.takeResyncRun(first, end);
    log.completeResyncRun(first, count);
    const rs = mirror.rh.regionSizeSectors;
    const sectors = Math.min(mirror.lengthSectors, (first + count) * rs) - first * rs;
    mirror.recovered(first, count, sectors);
    mirror.scheduler.trace('mirror.sparse_resync', first);
    // update_states ends with a flush; its result only matters to the next write.
    yield* mirror.log.flush();
    const holdTicks = count * cycleTicks;
    yield* waitFor<void>((resume) =>
      mirror.scheduler.schedule(holdTicks, 'mirror.sparse_resync_done', () => resume(undefined)),
    );
    // The next region copied in full measures its cycle afresh.
    this.lastRecoverTicks = null;
    return count;
  }

  /** The first region from `first` on that holds data on some leg, within one run. */
  private unwrittenEnd(first: number): number {
    const { mirror } = this;
    const rs = mirror.rh.regionSizeSectors;
    const end = Math.min(mirror.regionCount, first + this.runRegionsMax);
    const startSector = first * rs;
    const sectorCount = Math.min(mirror.lengthSectors, end * rs) - startSector;
    let dataSector = startSector + sectorCount;
    for (const leg of mirror.legs) {
      const query = leg.device.firstSectorWithData;
      if (query === undefined) return first;
      const found =
        query.call(leg.device, leg.offsetSectors + startSector, sectorCount) - leg.offsetSectors;
      dataSector = Math.min(dataSector, found);
    }
    // A region that holds data on any leg is copied the faithful way.
    return dataSector >= startSector + sectorCount ? end : Math.floor(dataSector / rs);
  }
}
