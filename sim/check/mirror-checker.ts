/**
 * White-box invariants of a mirror stack, checked continuously as requests
 * reach the devices and at every crash and resume, not only at the end
 * (reference dm-mirror.md §5 and §9; DESIGN.md invariants 1–4):
 *
 * 1. write-ahead marking — no data write reaches a leg in a region that
 *    some crash state of the log would start clean (in sync);
 * 2. clean only after durable data — no log write that would make a region
 *    clean is issued while any leg holds writes to that region that are not
 *    yet durable (in flight or in a volatile cache);
 * 3. after a crash and resume, every region whose legs differ is out of sync;
 * 4. `sync_count` equals the number of regions in sync, and the log's and
 *    region hash's own invariants hold;
 * 5. reads of a region that is not in sync go to the default leg only.
 *
 * Each violation names the invariant, the region and the simulated time.
 */
import { SECTOR_SIZE_BYTES } from '../../src/block/sector.js';
import type { ObservedRequest, SimulatedDevice } from '../../src/block/simulated-device.js';
import { CHUNK_SECTORS, type SparseStore } from '../../src/block/sparse-store.js';
import { runNonBlocking } from '../../src/concurrency/blocking.js';
import { EWOULDBLOCK } from '../../src/errno.js';
import type { DirtyLog } from '../../src/log/dirty-log.js';
import type { MirrorSet } from '../../src/mirror/mirror-set.js';
import { DM_RH_CLEAN, DM_RH_DIRTY } from '../../src/mirror/region-hash.js';
import type { MirrorStack } from '../mirror-stack.js';
import type { World } from '../world.js';
import { DiskLogPersistence, type LogPersistence } from './log-persistence.js';

export type InvariantName =
  | 'write-ahead-marking'
  | 'clean-before-durable'
  | 'legs-differ-in-sync'
  | 'sync-count'
  | 'read-routing'
  | 'internal';

export interface InvariantViolation {
  readonly invariant: InvariantName;
  readonly message: string;
  readonly timeTicks: number;
  readonly step: number;
}

/** The log's sync mode from its table arguments: `sync` and `nosync` make the on-disk state moot. */
export type LogSyncMode = 'default' | 'sync' | 'nosync';

export interface MirrorCheckerOptions {
  readonly world: World;
  readonly stack: MirrorStack;
  /** Where the log persists, if anywhere; built from the stack when omitted. */
  readonly persistence?: LogPersistence | null;
  /** Stop recording after this many violations (default 100). */
  readonly violationsMax?: number;
}

export class MirrorChecker {
  readonly violations: InvariantViolation[] = [];
  private stack: MirrorStack;
  private readonly world: World;
  private readonly persistence: LogPersistence | null;
  private readonly syncMode: LogSyncMode;
  private readonly detachers: Array<() => void> = [];
  private readonly violationsMax: number;

  constructor(options: MirrorCheckerOptions) {
    this.world = options.world;
    this.stack = options.stack;
    this.syncMode = logSyncMode(options.stack);
    this.persistence =
      options.persistence === undefined
        ? defaultPersistence(options.stack, this.syncMode)
        : options.persistence;
    this.violationsMax = options.violationsMax ?? 100;
    for (const device of options.stack.legDevices) {
      this.detachers.push(
        device.observe({ submitted: (request) => this.onLegSubmitted(device, request) }),
      );
    }
    const logDevice = this.persistence?.device;
    if (logDevice !== undefined) {
      this.detachers.push(
        logDevice.observe({ submitted: (request) => this.onLogSubmitted(request) }),
      );
    }
  }

  get ok(): boolean {
    return this.violations.length === 0;
  }

  /** The table's log sync mode (`default` unless `sync` or `nosync` was given). */
  get logSyncMode(): LogSyncMode {
    return this.syncMode;
  }

  /** Follows the stack after a reboot (the devices, and so the observers, stay). */
  setStack(stack: MirrorStack): void {
    this.stack = stack;
  }

  detach(): void {
    for (const detach of this.detachers.splice(0)) detach();
  }

  /**
   * Invariant 3, right after a resume (before recovery changes anything):
   * every region whose legs differ must be out of sync, except `exempt`
   * regions (for example ranges of discards a crash may have half-applied).
   * `regions`, when given, are the only regions whose legs may differ.
   */
  checkAfterResume(
    options: { readonly exempt?: ReadonlySet<number>; readonly regions?: Iterable<number> } = {},
  ): void {
    const mirror = this.stack.mirror;
    // `regions`: a caller that tracks where legs may differ spares the scan of every written chunk.
    const candidates =
      options.regions === undefined
        ? differingRegions(mirror)
        : [...options.regions].filter((region) => regionDiffers(mirror, region));
    for (const region of candidates) {
      if (options.exempt?.has(region) === true) continue;
      if (this.inSync(mirror, region) === true) {
        this.report(
          'legs-differ-in-sync',
          `region ${region}: legs differ but the log resumed it in sync`,
        );
      }
    }
    this.checkQuiescent();
  }

  /**
   * Invariant 3 in steady state, at any moment: a region whose legs differ
   * while no write to it is in flight (on a leg, or pending in the region
   * hash) must be out of sync. It
   * catches a region recorded in sync over legs that differ (a resync
   * failure recorded as success, a NOSYNC region turned CLEAN) long before
   * a crash would. `regions` limits the check to those regions.
   */
  checkLegsAgree(
    options: { readonly regions?: Iterable<number>; readonly exempt?: ReadonlySet<number> } = {},
  ): void {
    const mirror = this.stack.mirror;
    const candidates = options.regions ?? differingRegions(mirror);
    const busy = legRegionsInFlight(mirror);
    for (const region of candidates) {
      if (options.exempt?.has(region) === true || busy.has(region)) continue;
      // A write the mirror has not ended yet (pending) may still be turned into NOSYNC by do_failures.
      if ((mirror.rh.lookup(region)?.pending ?? 0) > 0) continue;
      if (!regionDiffers(mirror, region)) continue;
      if (this.inSync(mirror, region) === true) {
        this.report(
          'legs-differ-in-sync',
          `region ${region}: legs differ with no write in flight, yet the region is in sync`,
        );
      }
    }
  }

  /** Invariant 4 and the components' own invariants, at a moment nothing is half done. */
  checkQuiescent(): void {
    const mirror = this.stack.mirror;
    try {
      mirror.checkInvariants();
      const log = mirror.log as { checkInvariants?: () => void };
      log.checkInvariants?.();
    } catch (error) {
      this.report('internal', (error as Error).message);
    }
    if (mirror.regionCount > 1 << 20) return;
    let inSyncRegions = 0;
    for (let region = 0; region < mirror.regionCount; region++) {
      const inSync = logInSyncNow(mirror.log, region);
      if (inSync === EWOULDBLOCK) return;
      if (inSync === 1) inSyncRegions++;
    }
    const syncCount = runNonBlocking(mirror.log.getSyncCount(), 'get_sync_count');
    if (syncCount !== inSyncRegions) {
      this.report('sync-count', `sync_count ${syncCount} but ${inSyncRegions} regions are in sync`);
    }
  }

  /** Invariants 1 and 5, as a request reaches a leg. */
  private onLegSubmitted(device: SimulatedDevice, request: ObservedRequest): void {
    const mirror = this.stack.mirror;
    const leg = mirror.legs.find((each) => each.device === device);
    if (leg === undefined || request.kind === 'flush' || request.kind === 'discard') return;
    const region = Math.floor((request.sector - leg.offsetSectors) / mirror.rh.regionSizeSectors);
    if (region < 0 || region >= mirror.regionCount) return;
    if (request.kind === 'write') {
      if (this.persistence?.potentiallyClean(region) === true) {
        this.report(
          'write-ahead-marking',
          `region ${region}: a write reached leg ${leg.name} while a crash could leave the region clean in the log`,
        );
      }
      return;
    }
    if (leg !== mirror.defaultLeg && this.inSync(mirror, region) === false) {
      this.report(
        'read-routing',
        `region ${region}: a read went to leg ${leg.name} (default ${mirror.defaultLeg.name}) while the region is out of sync`,
      );
    }
  }

  /** Invariant 2, as a write reaches the log device. */
  private onLogSubmitted(request: ObservedRequest): void {
    if (request.kind !== 'write' || request.data === null || this.persistence === null) return;
    const mirror = this.stack.mirror;
    for (const region of volatileLegRegions(mirror)) {
      if (this.persistence.cleanInWrite(request.data, request.sector, region)) {
        this.report(
          'clean-before-durable',
          `region ${region}: the log is being written clean while a leg holds writes to it that are not durable`,
        );
      }
    }
  }

  /** White-box "is the region in sync": the hash's state, else the log's non-blocking answer. */
  private inSync(mirror: MirrorSet, region: number): boolean | undefined {
    const held = mirror.rh.lookup(region);
    if (held !== undefined) return held.state === DM_RH_CLEAN || held.state === DM_RH_DIRTY;
    const answer = logInSyncNow(mirror.log, region);
    if (answer === EWOULDBLOCK || answer < 0) return undefined;
    return answer === 1;
  }

  private report(invariant: InvariantName, message: string): void {
    if (this.violations.length >= this.violationsMax) return;
    this.violations.push({
      invariant,
      message,
      timeTicks: this.world.scheduler.now(),
      step: this.world.scheduler.steps,
    });
    this.world.scheduler.trace(`check.violation.${invariant}`);
  }
}

/**
 * Regions where some leg has writes that are not yet durable (in flight or
 * cached). Discards do not count: the mirror does not track them by region
 * at all (§4.8: no mark, no pending count), so a clean bit never waits for
 * one, and a crash that half-applies one is exempted from invariant 3.
 */
function volatileLegRegions(mirror: MirrorSet): Set<number> {
  const regions = new Set<number>();
  const regionSize = mirror.rh.regionSizeSectors;
  for (const leg of mirror.legs) {
    for (const write of (leg.device as SimulatedDevice).crashCandidates()) {
      if (write.kind === 'discard') continue;
      const first = Math.floor((write.sector - leg.offsetSectors) / regionSize);
      const last = Math.floor(
        (write.sector + write.sectorCount - 1 - leg.offsetSectors) / regionSize,
      );
      for (
        let region = Math.max(0, first);
        region <= Math.min(last, mirror.regionCount - 1);
        region++
      ) {
        regions.add(region);
      }
    }
  }
  return regions;
}

/**
 * The log's non-blocking `in_sync` answer. The core and disk logs expose
 * their sync bit directly (a simulator accessor); asking through the
 * blocking interface costs a task per region, which the checks that walk
 * every region after every command cannot afford.
 */
export function logInSyncNow(log: DirtyLog, region: number): number {
  const direct = (log as { isSyncBit?: (region: number) => boolean }).isSyncBit;
  if (typeof direct === 'function') return direct.call(log, region) ? 1 : 0;
  return runNonBlocking(log.inSync(region, false), 'in_sync');
}

/** Regions where some leg has a write submitted and not yet completed. */
function legRegionsInFlight(mirror: MirrorSet): Set<number> {
  const regions = new Set<number>();
  const regionSize = mirror.rh.regionSizeSectors;
  for (const leg of mirror.legs) {
    for (const write of (leg.device as SimulatedDevice).crashCandidates()) {
      if (write.completionSequence >= 0) continue;
      const first = Math.floor((write.sector - leg.offsetSectors) / regionSize);
      const last = Math.floor(
        (write.sector + write.sectorCount - 1 - leg.offsetSectors) / regionSize,
      );
      for (let region = first; region <= last; region++) regions.add(region);
    }
  }
  return regions;
}

/** Whether any leg's content differs from the first leg's within `region`. */
export function regionDiffers(mirror: MirrorSet, region: number): boolean {
  const regionSize = mirror.rh.regionSizeSectors;
  const start = region * regionSize;
  const sectorCount = Math.min(regionSize, mirror.lengthSectors - start);
  if (sectorCount <= 0) return false;
  const reference = mirror.legs[0]!;
  const content = (reference.device as SimulatedDevice).content;
  return mirror.legs
    .slice(1)
    .some((leg) =>
      rangeDiffers(
        content,
        reference.offsetSectors + start,
        (leg.device as SimulatedDevice).content,
        leg.offsetSectors + start,
        sectorCount,
      ),
    );
}

/**
 * Whether two ranges of two stores differ. It runs after every command on
 * every region a request touched, so it compares chunk by chunk: a chunk
 * the two stores share (copy-on-write) or neither has written is equal
 * without reading it, and written ones are compared a word at a time.
 */
function rangeDiffers(
  left: SparseStore,
  leftSector: number,
  right: SparseStore,
  rightSector: number,
  sectorCount: number,
): boolean {
  const shift = rightSector - leftSector;
  if (shift % CHUNK_SECTORS !== 0) {
    return (
      left.firstDifference(right, { sector: leftSector, otherSector: rightSector, sectorCount }) >=
      0
    );
  }
  const chunkShift = shift / CHUNK_SECTORS;
  const chunks = new Set(left.chunkIndicesIn(leftSector, sectorCount));
  for (const index of right.chunkIndicesIn(rightSector, sectorCount))
    chunks.add(index - chunkShift);
  const end = leftSector + sectorCount;
  for (const chunkIndex of chunks) {
    const chunkStart = chunkIndex * CHUNK_SECTORS;
    const fromByte = (Math.max(leftSector, chunkStart) - chunkStart) * SECTOR_SIZE_BYTES;
    const toByte = (Math.min(end, chunkStart + CHUNK_SECTORS) - chunkStart) * SECTOR_SIZE_BYTES;
    const a = left.chunkAt(chunkIndex);
    const b = right.chunkAt(chunkIndex + chunkShift);
    if (!chunkBytesEqual(a, b, fromByte, toByte)) return true;
  }
  return false;
}

function chunkBytesEqual(
  a: Uint8Array | undefined,
  b: Uint8Array | undefined,
  fromByte: number,
  toByte: number,
): boolean {
  if (a === undefined && b === undefined) return true;
  if (
    a !== undefined &&
    b !== undefined &&
    a.buffer === b.buffer &&
    a.byteOffset === b.byteOffset
  ) {
    return true;
  }
  const left = a ?? ZERO_CHUNK;
  const right = b ?? ZERO_CHUNK;
  const aligned =
    (left.byteOffset + fromByte) % 4 === 0 &&
    (right.byteOffset + fromByte) % 4 === 0 &&
    (toByte - fromByte) % 4 === 0;
  if (aligned) {
    const words = (toByte - fromByte) / 4;
    const leftWords = new Int32Array(left.buffer, left.byteOffset + fromByte, words);
    const rightWords = new Int32Array(right.buffer, right.byteOffset + fromByte, words);
    for (let index = 0; index < words; index++) {
      if (leftWords[index] !== rightWords[index]) return false;
    }
    return true;
  }
  for (let index = fromByte; index < toByte; index++) {
    if (left[index] !== right[index]) return false;
  }
  return true;
}

const ZERO_CHUNK = new Uint8Array(CHUNK_SECTORS * SECTOR_SIZE_BYTES);

/** Regions whose content differs between the default leg and any other, visiting written chunks only. */
export function differingRegions(mirror: MirrorSet): number[] {
  const regionSize = mirror.rh.regionSizeSectors;
  const candidates = new Set<number>();
  for (const leg of mirror.legs) {
    const content = (leg.device as SimulatedDevice).content;
    for (const chunk of content.chunkIndicesIn(leg.offsetSectors, mirror.lengthSectors)) {
      const firstSector = Math.max(chunk * 8, leg.offsetSectors) - leg.offsetSectors;
      const lastSector =
        Math.min(chunk * 8 + 7, leg.offsetSectors + mirror.lengthSectors - 1) - leg.offsetSectors;
      for (
        let region = Math.floor(firstSector / regionSize);
        region <= Math.floor(lastSector / regionSize);
        region++
      ) {
        candidates.add(region);
      }
    }
  }
  const reference = mirror.legs[0]!;
  const result: number[] = [];
  for (const region of [...candidates].sort((left, right) => left - right)) {
    const start = region * regionSize;
    const sectorCount = Math.min(regionSize, mirror.lengthSectors - start);
    const differs = mirror.legs.slice(1).some(
      (leg) =>
        (reference.device as SimulatedDevice).content.firstDifference(
          (leg.device as SimulatedDevice).content,
          {
            sector: reference.offsetSectors + start,
            otherSector: leg.offsetSectors + start,
            sectorCount,
          },
        ) >= 0,
    );
    if (differs) result.push(region);
  }
  return result;
}

function logSyncMode(stack: MirrorStack): LogSyncMode {
  const args = stack.table.args;
  const count = Number(args[1]);
  const logArgs = args.slice(2, 2 + count);
  if (logArgs.includes('nosync')) return 'nosync';
  if (logArgs.includes('sync')) return 'sync';
  return 'default';
}

/** The disk log persists on its log device; `sync`/`nosync` resumes ignore what it says. */
function defaultPersistence(stack: MirrorStack, mode: LogSyncMode): LogPersistence | null {
  if (mode !== 'default') return null;
  const mirror = stack.mirror;
  if (mirror.log.typeName === 'disk' && stack.logDevices.length > 0) {
    return new DiskLogPersistence(stack.logDevices[0]!, mirror.regionCount);
  }
  return null;
}
