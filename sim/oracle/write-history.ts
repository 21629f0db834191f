/**
 * The register oracle: a per-sector model of what a block device (here the
 * mirror) was asked to do, with Jepsen-style indeterminate writes. Every
 * write carries stamped data (sim/workload/payload.ts), so a sector read back
 * names the write that put it there.
 *
 * Time is a logical clock that ticks at every issue and completion. A write
 * `w` happens before `d` when `w` completed before `d` was issued. Then:
 *
 * - after a crash, a sector may hold write `w` unless some durable write `d`
 *   to it happened after `w`; it may hold zeros (its initial value) only if no
 *   write to it is durable, or if a discard allowed there says so;
 * - a read issued at `r0` and completed at `r1` may return `w` unless some
 *   write `d` to the sector that completed before `r0` happened after `w`, and
 *   never a write issued after `r1`.
 *
 * A write is durable when it completed with FUA, or completed before a
 * flush was issued that then completed successfully. A write that failed is
 * indeterminate forever: it may or may not have landed.
 *
 * A run may crash more than once. {@link WriteHistory.crash} turns every
 * write that was not durable into an indeterminate one (it may or may not
 * have survived, and it never becomes durable later), and
 * {@link WriteHistory.pinAfterCrash} records what a sector actually holds
 * once the crash settled it: from then on the sector must read as that value
 * or a later write, as if the value had been written durably at the crash.
 */
import { assert } from '../../src/assert.js';
import { SECTOR_SIZE_BYTES } from '../../src/block/sector.js';
import { readStamp, type StampReading } from '../workload/payload.js';

export interface TrackedWrite {
  /** ≥ 1 for requests; negative for the pins {@link WriteHistory.pinAfterCrash} adds. */
  readonly id: number;
  readonly kind: 'write' | 'discard' | 'pin';
  readonly sector: number;
  readonly sectorCount: number;
  readonly fua: boolean;
  readonly issueClock: number;
  /** When it was acknowledged (or failed); Infinity while in flight. */
  completeClock: number;
  failed: boolean;
  /** When it became durable; Infinity until then. */
  durableClock: number;
  /** For a pin: the write id the sector held after a crash (0 for zeros); -1 otherwise. */
  readonly pinnedWriteId: number;
}

export interface FlushToken {
  readonly issueClock: number;
}

export interface SectorViolation {
  readonly sector: number;
  /** What was read: a write id, `zero`, or `foreign (reason)`. */
  readonly found: string;
  readonly expected: string;
}

const INFINITY = Number.POSITIVE_INFINITY;
/** Sectors per page of the per-sector index: one map lookup serves a whole request. */
const PAGE_SECTORS = 1024;
/** The shortest candidate list worth pruning. */
const PRUNE_LENGTH_MIN = 8;

/**
 * The writes that may still be read at one sector, and when to prune them
 * next. A sector written once holds its write id as a plain number instead,
 * which saves two allocations per sector on the common path.
 */
class SectorWrites {
  readonly ids: number[] = [];
  /**
   * Prune when the list reaches this length; after a prune it doubles what
   * was kept, so a sector that nothing makes durable (no flush ever) costs
   * amortised O(1) per write instead of a scan of its whole list.
   */
  pruneAtLength = PRUNE_LENGTH_MIN;
}

export class WriteHistory {
  private clock = 0;
  private readonly writes = new Map<number, TrackedWrite>();
  /** For each page of sectors, for each sector ever written, the writes that may still be read there. */
  private readonly pages = new Map<number, Array<SectorWrites | number | undefined>>();
  private trackedCount = 0;
  private ackedNotDurable: TrackedWrite[] = [];
  /** Writes issued and not yet completed, by id (a crash makes them indeterminate). */
  private readonly inFlight = new Map<number, TrackedWrite>();
  /** Discards not (yet) durable, so {@link nonDurableDiscards} does not scan every write. */
  private readonly pendingDiscards = new Set<TrackedWrite>();
  private pinIdNext = -1;

  /** Sectors the history tracks (ever written or discarded). */
  get sectorCount(): number {
    return this.trackedCount;
  }

  get writeCount(): number {
    return this.writes.size;
  }

  write(id: number): TrackedWrite | undefined {
    return this.writes.get(id);
  }

  /** Sorted sectors ever written or discarded. */
  trackedSectors(): number[] {
    const sectors: number[] = [];
    const pageIndices = [...this.pages.keys()].sort((left, right) => left - right);
    for (const pageIndex of pageIndices) {
      const page = this.pages.get(pageIndex)!;
      for (let offset = 0; offset < PAGE_SECTORS; offset++) {
        if (page[offset] !== undefined) sectors.push(pageIndex * PAGE_SECTORS + offset);
      }
    }
    assert(sectors.length === this.trackedCount, 'tracked sector count disagrees with the index');
    return sectors;
  }

  /** Calls `visit` with every tracked sector in `[sector, sector + sectorCount)`, in order. */
  forEachTrackedSector(sector: number, sectorCount: number, visit: (sector: number) => void): void {
    const end = sector + sectorCount;
    let current = sector;
    while (current < end) {
      const pageIndex = Math.floor(current / PAGE_SECTORS);
      const pageEnd = Math.min(end, (pageIndex + 1) * PAGE_SECTORS);
      const page = this.pages.get(pageIndex);
      if (page !== undefined) {
        for (; current < pageEnd; current++) {
          if (page[current - pageIndex * PAGE_SECTORS] !== undefined) visit(current);
        }
      }
      current = pageEnd;
    }
  }

  /** Whether `sector` was ever written or discarded. */
  isTracked(sector: number): boolean {
    const pageIndex = Math.floor(sector / PAGE_SECTORS);
    return this.pages.get(pageIndex)?.[sector - pageIndex * PAGE_SECTORS] !== undefined;
  }

  /**
   * The ids of the writes, discards and pins that may still be read at
   * `sector` (the history prunes the rest), oldest first. For callers whose
   * data carries no stamp (a real NBD client's): they identify a sector's
   * content among these themselves, then judge it with a stamp for that id.
   */
  writeIdsAt(sector: number): readonly number[] {
    const pageIndex = Math.floor(sector / PAGE_SECTORS);
    const entry = this.pages.get(pageIndex)?.[sector - pageIndex * PAGE_SECTORS];
    if (entry === undefined) return [];
    return typeof entry === 'number' ? [entry] : entry.ids.slice();
  }

  /**
   * Discards that were not durable: a crash can leave them applied on one
   * leg and not another, and the log does not record them (reference §4.8).
   */
  nonDurableDiscards(): TrackedWrite[] {
    return [...this.pendingDiscards];
  }

  /** Records a write (or discard) being issued with id `id` (≥ 1, unique). */
  issueWrite(spec: {
    readonly id: number;
    readonly kind: 'write' | 'discard';
    readonly sector: number;
    readonly sectorCount: number;
    readonly fua: boolean;
  }): TrackedWrite {
    assert(Number.isSafeInteger(spec.id) && spec.id >= 1, `write id ${spec.id} is not ≥ 1`);
    assert(!this.writes.has(spec.id), `write id ${spec.id} issued twice`);
    // Named fields, not a spread: one object shape for every write keeps this path fast.
    const tracked: TrackedWrite = {
      id: spec.id,
      kind: spec.kind,
      sector: spec.sector,
      sectorCount: spec.sectorCount,
      fua: spec.fua,
      issueClock: this.clock++,
      completeClock: INFINITY,
      failed: false,
      durableClock: INFINITY,
      pinnedWriteId: -1,
    };
    this.writes.set(spec.id, tracked);
    this.inFlight.set(spec.id, tracked);
    if (spec.kind === 'discard') this.pendingDiscards.add(tracked);
    const end = spec.sector + spec.sectorCount;
    let sector = spec.sector;
    while (sector < end) {
      const pageIndex = Math.floor(sector / PAGE_SECTORS);
      const page = this.page(pageIndex);
      const pageEnd = Math.min(end, (pageIndex + 1) * PAGE_SECTORS);
      for (; sector < pageEnd; sector++) {
        this.addToSector(page, sector - pageIndex * PAGE_SECTORS, spec.id);
      }
    }
    return tracked;
  }

  private addToSector(
    page: Array<SectorWrites | number | undefined>,
    offset: number,
    id: number,
  ): void {
    const entry = page[offset];
    if (entry === undefined) {
      page[offset] = id;
      this.trackedCount++;
      return;
    }
    if (typeof entry === 'number') {
      const list = new SectorWrites();
      list.ids.push(entry, id);
      page[offset] = list;
      return;
    }
    if (entry.ids.length >= entry.pruneAtLength) {
      this.prune(entry.ids);
      entry.pruneAtLength = Math.max(PRUNE_LENGTH_MIN, 2 * entry.ids.length);
    }
    entry.ids.push(id);
  }

  private page(pageIndex: number): Array<SectorWrites | number | undefined> {
    let page = this.pages.get(pageIndex);
    if (page === undefined) {
      page = new Array<SectorWrites | number | undefined>(PAGE_SECTORS).fill(undefined);
      this.pages.set(pageIndex, page);
    }
    return page;
  }

  completeWrite(id: number, failed: boolean): void {
    const tracked = this.writes.get(id);
    assert(tracked !== undefined, `completion of unknown write ${id}`);
    assert(tracked.completeClock === INFINITY, `write ${id} completed twice`);
    tracked.completeClock = this.clock++;
    tracked.failed = failed;
    this.inFlight.delete(id);
    if (failed) return;
    if (tracked.fua) tracked.durableClock = tracked.completeClock;
    else this.ackedNotDurable.push(tracked);
  }

  issueFlush(): FlushToken {
    return { issueClock: this.clock++ };
  }

  /** A flush completed: if it succeeded, writes acknowledged before it was issued are durable. */
  completeFlush(token: FlushToken, failed: boolean): void {
    const now = this.clock++;
    if (failed) return;
    const still: TrackedWrite[] = [];
    for (const tracked of this.ackedNotDurable) {
      if (tracked.completeClock < token.issueClock) {
        tracked.durableClock = now;
        if (tracked.kind === 'discard') this.pendingDiscards.delete(tracked);
      } else still.push(tracked);
    }
    this.ackedNotDurable = still;
  }

  /** Marks a point in logical time (for reads). */
  tick(): number {
    return this.clock++;
  }

  /**
   * The world crashed: every write in flight or acknowledged but not durable
   * may or may not have survived, on each device independently. Each becomes
   * indeterminate for good (as a failed write is) and never becomes durable
   * through a later flush. Returns those writes, so the caller can pin the
   * sectors they touched once the crash has settled them.
   */
  crash(): TrackedWrite[] {
    const now = this.clock++;
    const affected: TrackedWrite[] = [];
    for (const tracked of this.inFlight.values()) {
      tracked.completeClock = now;
      tracked.failed = true;
      affected.push(tracked);
    }
    this.inFlight.clear();
    for (const tracked of this.ackedNotDurable) {
      assert(tracked.durableClock === INFINITY, `write ${tracked.id} is durable yet pending`);
      tracked.failed = true;
      affected.push(tracked);
    }
    this.ackedNotDurable = [];
    return affected;
  }

  /** Writes issued and not completed (held, queued or in flight). */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /**
   * Checks what `sector` holds after a crash (as {@link checkAfterCrash})
   * and, if it is allowed, pins it: the sector must read as that value, or
   * as a later write, from now on. Returns the violation, or null.
   */
  pinAfterCrash(sector: number, sectorBytes: Uint8Array): SectorViolation | null {
    const violation = this.checkAfterCrash(sector, sectorBytes);
    if (violation !== null) return violation;
    const reading = readStamp(sectorBytes, sector);
    assert(reading.kind !== 'foreign', 'a foreign sector passed the crash check');
    const now = this.clock++;
    const pin: TrackedWrite = {
      id: this.pinIdNext--,
      kind: 'pin',
      sector,
      sectorCount: 1,
      fua: true,
      issueClock: now,
      completeClock: now,
      failed: false,
      durableClock: now,
      pinnedWriteId: reading.kind === 'stamp' ? reading.writeId : 0,
    };
    this.writes.set(pin.id, pin);
    const pageIndex = Math.floor(sector / PAGE_SECTORS);
    this.addToSector(this.page(pageIndex), sector - pageIndex * PAGE_SECTORS, pin.id);
    return null;
  }

  /** Checks one sector after a crash and recovery. Returns a violation or null. */
  checkAfterCrash(sector: number, sectorBytes: Uint8Array): SectorViolation | null {
    const reading = readStamp(sectorBytes, sector);
    const candidates = this.candidates(sector);
    const durable = candidates.filter((write) => write.durableClock !== INFINITY);
    const allowed = candidates.filter(
      (write) => !durable.some((newer) => write.completeClock < newer.issueClock),
    );
    return this.judge(sector, reading, allowed, durable.length === 0);
  }

  /**
   * Checks one sector returned by a read issued at `readIssueClock` and
   * completed at `readCompleteClock` (both from {@link tick}).
   */
  checkRead(
    sector: number,
    sectorBytes: Uint8Array,
    readIssueClock: number,
    readCompleteClock: number,
  ): SectorViolation | null {
    const reading = readStamp(sectorBytes, sector);
    const candidates = this.candidates(sector).filter(
      (write) => write.issueClock < readCompleteClock,
    );
    const completedBefore = candidates.filter(
      (write) => !write.failed && write.completeClock < readIssueClock,
    );
    const allowed = candidates.filter(
      (write) => !completedBefore.some((newer) => write.completeClock < newer.issueClock),
    );
    return this.judge(sector, reading, allowed, completedBefore.length === 0);
  }

  /** Checks a multi-sector buffer read at `sector` (after a crash); returns every violation. */
  checkBufferAfterCrash(sector: number, data: Uint8Array): SectorViolation[] {
    const violations: SectorViolation[] = [];
    for (let offset = 0; offset * SECTOR_SIZE_BYTES < data.length; offset++) {
      const bytes = data.subarray(offset * SECTOR_SIZE_BYTES, (offset + 1) * SECTOR_SIZE_BYTES);
      const violation = this.checkAfterCrash(sector + offset, bytes);
      if (violation !== null) violations.push(violation);
    }
    return violations;
  }

  private judge(
    sector: number,
    reading: StampReading,
    allowed: readonly TrackedWrite[],
    initialAllowed: boolean,
  ): SectorViolation | null {
    if (reading.kind === 'zero') {
      if (
        initialAllowed ||
        allowed.some(
          (write) =>
            write.kind === 'discard' || (write.kind === 'pin' && write.pinnedWriteId === 0),
        )
      )
        return null;
      return { sector, found: 'zero', expected: describe(allowed) };
    }
    if (reading.kind === 'stamp') {
      const writeId = reading.writeId;
      if (
        allowed.some(
          (write) =>
            (write.kind === 'write' && write.id === writeId) ||
            (write.kind === 'pin' && write.pinnedWriteId === writeId),
        )
      )
        return null;
      return {
        sector,
        found: `write ${reading.writeId}`,
        expected: describe(allowed, initialAllowed),
      };
    }
    return {
      sector,
      found: `foreign (${reading.reason})`,
      expected: describe(allowed, initialAllowed),
    };
  }

  private candidates(sector: number): TrackedWrite[] {
    const pageIndex = Math.floor(sector / PAGE_SECTORS);
    const entry = this.pages.get(pageIndex)?.[sector - pageIndex * PAGE_SECTORS];
    if (entry === undefined) return [];
    if (typeof entry === 'number') return [this.writes.get(entry)!];
    return entry.ids.map((id) => this.writes.get(id)!);
  }

  /**
   * Drops ids that can never be read again: writes that happened before a
   * durable write to the same sector. Keeps the per-sector lists short.
   */
  private prune(ids: number[]): void {
    let latestDurableIssue = -1;
    for (const id of ids) {
      const write = this.writes.get(id)!;
      if (write.durableClock !== INFINITY)
        latestDurableIssue = Math.max(latestDurableIssue, write.issueClock);
    }
    if (latestDurableIssue < 0) return;
    let kept = 0;
    for (const id of ids) {
      const write = this.writes.get(id)!;
      if (write.completeClock >= latestDurableIssue) ids[kept++] = id;
    }
    ids.length = kept;
  }
}

function describe(allowed: readonly TrackedWrite[], initialAllowed = false): string {
  const names = allowed.map((write) => {
    if (write.kind === 'discard') return `discard ${write.id}`;
    if (write.kind === 'pin') {
      const value = write.pinnedWriteId === 0 ? 'zero' : `write ${write.pinnedWriteId}`;
      return `${value} (as the crash left it)`;
    }
    return `write ${write.id}`;
  });
  if (initialAllowed) names.unshift('zero');
  return names.length === 0 ? 'nothing (no value is allowed)' : `one of ${names.join(', ')}`;
}
