/**
 * Verifies what the legs hold against the register oracle, incrementally:
 * only regions that may have changed since they were last verified are
 * read. A region may change when some request reaches a leg in it (a user
 * write or discard, a resync copy) or when a crash drops writes that were
 * not durable there, so the verifier watches every leg's submissions and
 * is told about crashes. A crash-recover-verify cycle then costs what
 * changed, not the size of the mirror.
 *
 * For each region to verify: the legs must be byte-identical (unless the
 * caller says they may differ there), every sector ever written must hold a
 * value the {@link WriteHistory} allows after a crash, and every other
 * sector must read as zeros.
 */
import { SECTOR_SIZE_BYTES } from '../../src/block/sector.js';
import type { SimulatedDevice } from '../../src/block/simulated-device.js';
import type { MirrorSet } from '../../src/mirror/mirror-set.js';
import type { WriteHistory } from '../oracle/write-history.js';
import { readStamp } from '../workload/payload.js';
import { regionDiffers } from './mirror-checker.js';

export interface ContentViolation {
  readonly kind: 'register' | 'legs-differ';
  readonly region: number;
  readonly message: string;
}

export interface VerifyOptions {
  /** Verify every region, not only those that may have changed. */
  readonly all?: boolean;
  /** Regions whose legs may legitimately differ (each leg is then checked on its own). */
  readonly legsMayDiffer?: (region: number) => boolean;
}

/** The legs to watch: devices and their offsets, as the mirror's table gives them. */
export interface WatchedLeg {
  readonly device: SimulatedDevice;
  readonly offsetSectors: number;
}

export class ContentVerifier {
  private readonly touched = new Set<number>();
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
            if (request.kind === 'write' || request.kind === 'discard') {
              this.markSectors(request.sector - leg.offsetSectors, request.sectorCount);
            }
          },
        }),
      );
    }
  }

  /** Regions waiting to be verified. */
  get pendingRegionCount(): number {
    return this.touched.size;
  }

  detach(): void {
    for (const detach of this.detachers.splice(0)) detach();
  }

  /** Marks every region for the next verification. */
  markAll(): void {
    for (let region = 0; region < this.regionCount; region++) this.touched.add(region);
  }

  markRegion(region: number): void {
    if (region >= 0 && region < this.regionCount) this.touched.add(region);
  }

  /** Marks the regions of `[sector, sector + sectorCount)` (target-relative sectors). */
  markSectors(sector: number, sectorCount: number): void {
    if (sectorCount <= 0) return;
    const first = Math.max(0, Math.floor(sector / this.regionSizeSectors));
    const last = Math.min(
      this.regionCount - 1,
      Math.floor((sector + sectorCount - 1) / this.regionSizeSectors),
    );
    for (let region = first; region <= last; region++) this.touched.add(region);
  }

  /** Call just before a crash: regions with writes a crash may drop change without a new request. */
  noteCrash(): void {
    for (const leg of this.legs) {
      for (const write of leg.device.crashCandidates()) {
        this.markSectors(write.sector - leg.offsetSectors, write.sectorCount);
      }
    }
  }

  /**
   * Verifies the pending regions (or all). A region is done once verified
   * with identical legs; one whose legs may differ stays pending.
   */
  verify(mirror: MirrorSet, history: WriteHistory, options: VerifyOptions = {}): ContentViolation[] {
    if (options.all === true) this.markAll();
    const violations: ContentViolation[] = [];
    const regions = [...this.touched].sort((left, right) => left - right);
    for (const region of regions) {
      const differs = regionDiffers(mirror, region);
      const mayDiffer = options.legsMayDiffer?.(region) === true;
      if (differs && !mayDiffer) {
        violations.push({
          kind: 'legs-differ',
          region,
          message: `region ${region}: legs differ after recovery`,
        });
      }
      const legs = differs ? mirror.legs : [mirror.defaultLeg];
      for (const leg of legs) {
        this.verifyRegionOnLeg(region, leg, mirror, history, violations);
      }
      if (!differs) this.touched.delete(region);
    }
    return violations;
  }

  private verifyRegionOnLeg(
    region: number,
    leg: { readonly device: unknown; readonly offsetSectors: number; readonly name: string },
    mirror: MirrorSet,
    history: WriteHistory,
    violations: ContentViolation[],
  ): void {
    const start = region * this.regionSizeSectors;
    const sectorCount = Math.min(this.regionSizeSectors, mirror.lengthSectors - start);
    if (sectorCount <= 0) return;
    const content = (leg.device as SimulatedDevice).content;
    const data = content.read(leg.offsetSectors + start, sectorCount);
    for (let offset = 0; offset < sectorCount; offset++) {
      const sector = start + offset;
      const bytes = data.subarray(offset * SECTOR_SIZE_BYTES, (offset + 1) * SECTOR_SIZE_BYTES);
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
}
