/**
 * Verifies what the legs hold against the register oracle, incrementally:
 * only what may have changed since it was last verified is read. A sector
 * changes when a request writes or discards it, or when a crash drops a
 * write that was not durable there; legs may start to differ in a region
 * whenever any request (a resync copy too) reaches a leg in it. So the
 * verifier watches every leg's submissions and is told about crashes, and
 * a crash-recover-verify cycle costs what changed, not the mirror's size.
 *
 * What it checks: the legs are byte-identical in every region that may
 * have changed (unless the caller says they may differ there), and on the
 * default leg — the one reads and the resync use — every changed sector
 * holds a value the {@link WriteHistory} allows after a crash, and a
 * sector never written reads as zeros. A resync copy needs no sector
 * check of its own: it copies the default leg, which the identity check
 * then covers.
 */
import { SECTOR_SIZE_BYTES } from '../../src/block/sector.js';
import type { SimulatedDevice } from '../../src/block/simulated-device.js';
import { CHUNK_SECTORS } from '../../src/block/sparse-store.js';
import type { MirrorSet } from '../../src/mirror/mirror-set.js';
import type { WriteHistory } from '../oracle/write-history.js';
import { readStamp } from '../workload/payload.js';
import { regionDiffers } from './mirror-checker.js';

/** One thing verification found wrong. */
export interface ContentViolation {
  readonly kind: 'register' | 'legs-differ';
  readonly region: number;
  readonly message: string;
}

/** How much to verify, and where legs may differ. */
export interface VerifyOptions {
  /** Verify every region and every written sector, not only what may have changed. */
  readonly all?: boolean;
  /** Regions whose legs may legitimately differ (they stay pending until the legs agree). */
  readonly legsMayDiffer?: (region: number) => boolean;
  /** Whether the legs differ in a region, if the caller already knows (default: compare them). */
  readonly differs?: (region: number) => boolean;
}

/** The legs to watch: devices and their offsets, as the mirror's table gives them. */
export interface WatchedLeg {
  readonly device: SimulatedDevice;
  readonly offsetSectors: number;
}

/** The incremental verifier (see the file comment). */
export class ContentVerifier {
  /** Regions whose legs may differ since last verified. */
  private readonly touchedRegions = new Set<number>();
  /** Sectors whose content may have changed since last verified (target-relative). */
  private readonly touchedSectors = new Set<number>();
  private readonly detachers: Array<() => void> = [];
  private readonly regionSizeSectors: number;
  private readonly regionCount: number;
  private readonly legs: readonly WatchedLeg[];

  constructor(options: {
    readonly regionSizeSectors: number;
    readonly regionCount: number;
    readonly legs: readonly WatchedLeg[];
  }) {
    this.regionSizeSectors = options.regionSizeSectors;
    this.regionCount = options.regionCount;
    this.legs = options.legs;
    for (const leg of options.legs) {
      this.detachers.push(
        leg.device.observe({
          submitted: (request) => {
            if (request.kind !== 'write' && request.kind !== 'discard') return;
            // A dense write or a discard is a user request; a sparse write is a resync copy.
            const user = request.kind === 'discard' || request.data !== null;
            this.mark(request.sector - leg.offsetSectors, request.sectorCount, user);
          },
        }),
      );
    }
  }

  /** Regions waiting to be verified. */
  get pendingRegionCount(): number {
    return this.touchedRegions.size;
  }

  detach(): void {
    for (const detach of this.detachers.splice(0)) detach();
  }

  /**
   * Marks `[sector, sector + sectorCount)` (target-relative) as changed:
   * its regions for the identity check, and, when `sectors`, its sectors
   * for the register check.
   */
  mark(sector: number, sectorCount: number, sectors: boolean): void {
    if (sectorCount <= 0) return;
    const first = Math.max(0, Math.floor(sector / this.regionSizeSectors));
    const last = Math.min(
      this.regionCount - 1,
      Math.floor((sector + sectorCount - 1) / this.regionSizeSectors),
    );
    for (let region = first; region <= last; region++) this.touchedRegions.add(region);
    if (!sectors) return;
    for (let each = Math.max(0, sector); each < sector + sectorCount; each++) {
      this.touchedSectors.add(each);
    }
  }

  /** Call just before a crash: what a crash may drop changes without a new request. */
  noteCrash(): void {
    for (const leg of this.legs) {
      for (const write of leg.device.crashCandidates()) {
        this.mark(write.sector - leg.offsetSectors, write.sectorCount, write.kind !== 'sparse');
      }
    }
  }

  /**
   * Verifies what may have changed (or everything). A region is done once
   * verified with identical legs; one whose legs may differ stays pending.
   */
  verify(
    mirror: MirrorSet,
    history: WriteHistory,
    options: VerifyOptions = {},
  ): ContentViolation[] {
    const violations: ContentViolation[] = [];
    const all = options.all === true;
    const regions = all
      ? Array.from({ length: this.regionCount }, (_, region) => region)
      : [...this.touchedRegions].sort((left, right) => left - right);
    const differs = options.differs ?? ((region: number) => regionDiffers(mirror, region));
    for (const region of regions) {
      if (!differs(region)) {
        this.touchedRegions.delete(region);
        continue;
      }
      if (options.legsMayDiffer?.(region) === true) continue;
      violations.push({
        kind: 'legs-differ',
        region,
        message: `region ${region}: legs differ after recovery`,
      });
    }
    const sectors = all
      ? this.writtenSectors(mirror, history)
      : [...this.touchedSectors].sort((left, right) => left - right);
    this.touchedSectors.clear();
    this.checkSectors(sectors, mirror, history, violations);
    return violations;
  }

  /** The register check of `sectors` on the default leg. */
  private checkSectors(
    sectors: readonly number[],
    mirror: MirrorSet,
    history: WriteHistory,
    violations: ContentViolation[],
  ): void {
    const leg = mirror.defaultLeg;
    const content = (leg.device as SimulatedDevice).content;
    const bytes = new Uint8Array(SECTOR_SIZE_BYTES);
    for (const sector of sectors) {
      if (sector >= mirror.lengthSectors) continue;
      content.readInto(leg.offsetSectors + sector, 1, bytes, 0);
      const region = Math.floor(sector / this.regionSizeSectors);
      if (history.isTracked(sector)) {
        const violation = history.checkAfterCrash(sector, bytes);
        if (violation !== null) {
          violations.push({
            kind: 'register',
            region,
            message: `sector ${sector} on ${leg.name}: read ${violation.found}, expected ${violation.expected}`,
          });
        }
      } else if (readStamp(bytes, sector).kind !== 'zero') {
        violations.push({
          kind: 'register',
          region,
          message: `sector ${sector} on ${leg.name}: never written, yet not zero`,
        });
      }
    }
  }

  /** Every sector written on the default leg or tracked by the history, sorted. */
  private writtenSectors(mirror: MirrorSet, history: WriteHistory): number[] {
    const leg = mirror.defaultLeg;
    const content = (leg.device as SimulatedDevice).content;
    const sectors = new Set<number>();
    history.forEachTrackedSector(0, mirror.lengthSectors, (sector) => sectors.add(sector));
    for (const chunkIndex of content.chunkIndicesIn(leg.offsetSectors, mirror.lengthSectors)) {
      for (let offset = 0; offset < CHUNK_SECTORS; offset++) {
        const sector = chunkIndex * CHUNK_SECTORS + offset - leg.offsetSectors;
        if (sector >= 0 && sector < mirror.lengthSectors) sectors.add(sector);
      }
    }
    return [...sectors].sort((left, right) => left - right);
  }
}
