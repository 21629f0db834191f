/**
 * Regions where two writes to overlapping sectors were in flight at once.
 * Linux orders neither the bios of a dm device nor the legs' completions,
 * so such writes may land in one order on one leg and in the other order
 * on another: the legs of an in-sync region then differ, and stay so until
 * the sectors are written again or the region is resynced (md calls the
 * same thing `mismatch_cnt`). The simulator's own driver avoids it as fio's
 * `serialize_overlap` does; a real client may not, so the server records
 * where it happened and the checks after a power cut exempt those regions
 * from "legs identical" and invariant 3 instead of calling it a bug.
 */
import { assert } from '../../src/assert.js';

interface InFlightWrite {
  readonly sector: number;
  readonly end: number;
}

/** Writes in flight, and the regions where two of them overlapped (see the file comment). */
export class OverlapTracker {
  private readonly inFlight = new Set<InFlightWrite>();
  private readonly regions = new Set<number>();

  constructor(private readonly regionSizeSectors: number) {
    assert(regionSizeSectors > 0, 'region size must be positive');
  }

  /** Regions that saw concurrent overlapping writes since they were last resynced. */
  get overlapRegions(): ReadonlySet<number> {
    return this.regions;
  }

  /** Writes in flight now. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** A write (or discard) to `[sector, sector + sectorCount)` starts; returns its handle. */
  begin(sector: number, sectorCount: number): object {
    const write: InFlightWrite = { sector, end: sector + sectorCount };
    for (const other of this.inFlight) {
      if (write.sector < other.end && other.sector < write.end) {
        this.mark(Math.max(write.sector, other.sector), Math.min(write.end, other.end));
      }
    }
    this.inFlight.add(write);
    return write;
  }

  /** The write `handle` completed (or failed). */
  end(handle: object): void {
    assert(this.inFlight.delete(handle as InFlightWrite), 'an unknown write ended');
  }

  /** A resync copied `region` from the default leg: its legs agree again. */
  resynced(region: number): void {
    this.regions.delete(region);
  }

  /** A power cut: nothing is in flight any more. */
  clearInFlight(): void {
    this.inFlight.clear();
  }

  private mark(from: number, to: number): void {
    const first = Math.floor(from / this.regionSizeSectors);
    const last = Math.floor((to - 1) / this.regionSizeSectors);
    for (let region = first; region <= last; region++) this.regions.add(region);
  }
}
