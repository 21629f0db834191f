/**
 * The one export `mirrorsim serve` offers: a mirror stack in a simulated
 * world (sim/mirror-stack.ts), driven by real clients. Every request maps
 * onto the mapped device exactly as a bio would (reference nbd.md §3.7):
 * READ → read, WRITE → write (FUA → REQ_FUA), FLUSH → an empty PREFLUSH,
 * TRIM → discard (with FUA, followed by a PREFLUSH), WRITE_ZEROES → writes
 * of zeros (dm-raid1 has no REQ_OP_WRITE_ZEROES, so the block layer's
 * zero-page fallback is what Linux would do). Write data is never changed
 * after it arrives (each payload has its own slab piece, zeros come from
 * one shared buffer), so it goes down as `stable`: the devices' caches keep
 * it instead of copying it. The register oracle sees
 * every request (content-oracle.ts); reads are checked as they complete.
 *
 * All connections share this one object: a FLUSH or FUA reply on any of
 * them covers what every connection had completed, so CAN_MULTI_CONN holds
 * (§3.7). Control actions (fail, restore, suspend, resume, power cut) run
 * the world to completion at once, in simulated time.
 */

import { MirrorChecker } from '../../sim/check/mirror-checker.js';
import { MirrorStack } from '../../sim/mirror-stack.js';
import { settle } from '../../sim/scenario/crash-flow.js';
import { World } from '../../sim/world.js';
import { assert } from '../../src/assert.js';
import type { BlockIoError } from '../../src/block/block-device.js';
import type { CrashStrategy } from '../../src/block/crash-state.js';
import type { DeviceLatency } from '../../src/block/latency.js';
import { SECTOR_SIZE_BYTES } from '../../src/block/sector.js';
import type { SimulatedDevice } from '../../src/block/simulated-device.js';
import { countRegionsInSync } from './_internals/regions-in-sync.js';
import { allocationExtents } from './block-status.js';
import { ContentOracle } from './content-oracle.js';
import { DriveWriteBack } from './drive-write-back.js';
import { ExportMetrics, type WorldMetrics } from './export-metrics.js';
import { IologRecorder } from './iolog-recorder.js';
import type { NbdBackend } from './nbd-connection.js';
import { OverlapTracker } from './overlap-tracker.js';
import { type PowerCutReport, powerCut } from './power-cut.js';
import { checkExportProfile, type NbdExportProfile } from './protocol/export-profile.js';
import {
  NBD_CMD_BLOCK_STATUS,
  NBD_CMD_FLUSH,
  NBD_CMD_READ,
  NBD_CMD_TRIM,
  NBD_CMD_WRITE,
  NBD_CMD_WRITE_ZEROES,
  NBD_EINVAL,
  NBD_EIO,
  type NbdErrno,
} from './protocol/nbd-constants.js';
import type { BlockExtent } from './protocol/reply-encoder.js';
import { type ClockKind, createSimulationClock, type SimulationClock } from './simulation-clock.js';

/** How the export is built. */
export interface MirrorExportOptions {
  /** The dm table line of the mirror. */
  readonly table: string;
  readonly seed: number;
  readonly clock: ClockKind;
  readonly writeCache: boolean;
  readonly legLatency: Partial<DeviceLatency>;
  readonly logLatency: Partial<DeviceLatency>;
  /** Writes a device's volatile cache holds before it writes back on its own. */
  readonly cacheWritesMax: number;
  /** Run the white-box MirrorChecker on every leg and log write (costs time). */
  readonly whiteBox: boolean;
  /** The mapped device's (and the export's) name. */
  readonly name: string;
  /** Where served requests are recorded as a fio iolog (iolog-recorder.ts), if anywhere. */
  readonly recordPath?: string;
}

/** What a request's completion receives: an NBD error (0 for success) and, for READ, the data. */
export type ExportDone = (errno: NbdErrno, data: Uint8Array | null) => void;

/** Pieces a WRITE_ZEROES is split into, at most this long, from one shared zero buffer. */
const ZERO_PIECE_BYTES = 1024 * 1024;
const ZERO_PIECE = new Uint8Array(ZERO_PIECE_BYTES);
/** Read violations kept for the status report (all are counted). */
const READ_VIOLATIONS_KEPT = 20;

/** The simulated mirror behind the export (see the file comment). */
export class MirrorExport implements NbdBackend {
  readonly world: World;
  readonly seed: number;
  /** The devices have a volatile write cache. */
  readonly writeCache: boolean;
  readonly oracle = new ContentOracle();
  readonly metrics = new ExportMetrics();
  readonly clock: SimulationClock;
  readonly profile: NbdExportProfile;
  readonly readViolations: string[] = [];
  readonly powerCuts: PowerCutReport[] = [];
  private stackNow: MirrorStack;
  private readonly checker: MirrorChecker | null;
  private readonly overlap: OverlapTracker;
  private readonly writeBack: DriveWriteBack;
  private readonly recorder: IologRecorder | null;
  private inFlight = 0;

  constructor(options: MirrorExportOptions) {
    this.seed = options.seed;
    this.writeCache = options.writeCache;
    this.world = new World({ seed: options.seed });
    const deviceDefaults = { writeCache: options.writeCache };
    this.stackNow = new MirrorStack({
      world: this.world,
      table: options.table,
      name: options.name,
      legDefaults: { ...deviceDefaults, latency: options.legLatency },
      logDeviceDefaults: { ...deviceDefaults, latency: options.logLatency },
    });
    this.checker = options.whiteBox
      ? new MirrorChecker({ world: this.world, stack: this.stackNow })
      : null;
    this.stackNow.activate();
    // The initial sync runs before the export is offered, as `mirrorsim run` does.
    assert(settle(this.world, this.stackNow.mirror), 'the mirror did not reach sync at activation');
    this.overlap = new OverlapTracker(this.stackNow.mirror.rh.regionSizeSectors);
    this.writeBack = new DriveWriteBack(() => this.world.devices, options.cacheWritesMax);
    this.clock = createSimulationClock(options.clock, this.world.scheduler);
    this.profile = {
      name: options.name,
      description: `mirrorsim: ${this.stackNow.tableText}`,
      sizeBytes: this.stackNow.table.lengthSectors * SECTOR_SIZE_BYTES,
      multiConn: true,
    };
    checkExportProfile(this.profile);
    // Created last, so a table that does not load leaves no file behind.
    this.recorder =
      options.recordPath === undefined
        ? null
        : IologRecorder.create(options.recordPath, options.name, this.world.scheduler.now());
  }

  /** The stack served now (a power cut boots a new one). */
  get stack(): MirrorStack {
    return this.stackNow;
  }

  /** Client requests submitted to the world and not yet completed. */
  get requestsInFlight(): number {
    return this.inFlight;
  }

  read(offsetBytes: number, lengthBytes: number, done: ExportDone): void {
    const sector = offsetBytes / SECTOR_SIZE_BYTES;
    const started = this.begin(NBD_CMD_READ, 'read', offsetBytes, lengthBytes);
    const issueClock = this.oracle.tick();
    this.stackNow.device.read(
      { sector, sectorCount: lengthBytes / SECTOR_SIZE_BYTES },
      (error, data) => {
        const completeClock = this.oracle.tick();
        if (error === null && data !== null) {
          this.metrics.bytesRead += data.length;
          this.checkRead(sector, data, issueClock, completeClock);
        }
        this.finish(NBD_CMD_READ, started, error);
        done(errnoOf(error), error === null ? data : null);
      },
    );
    this.clock.kick();
  }

  write(offsetBytes: number, data: Uint8Array, fua: boolean, done: ExportDone): void {
    const sector = offsetBytes / SECTOR_SIZE_BYTES;
    const started = this.begin(NBD_CMD_WRITE, 'write', offsetBytes, data.length);
    const id = this.oracle.issueWrite(sector, data, fua);
    const handle = this.overlap.begin(sector, data.length / SECTOR_SIZE_BYTES);
    this.stackNow.device.write({ sector, data, fua, stable: true }, (error) => {
      this.oracle.completeWrite(id, error !== null);
      this.overlap.end(handle);
      if (error === null) this.metrics.bytesWritten += data.length;
      this.finish(NBD_CMD_WRITE, started, error);
      this.writeBack.check();
      done(errnoOf(error), null);
    });
    this.clock.kick();
  }

  /** An empty PREFLUSH: every write completed before it becomes durable (§3.7). */
  flush(done: ExportDone): void {
    const started = this.begin(NBD_CMD_FLUSH, 'sync', 0, 0);
    this.preflush((error) => {
      this.finish(NBD_CMD_FLUSH, started, error);
      done(errnoOf(error), null);
    });
    this.clock.kick();
  }

  /** A discard; with FUA a PREFLUSH follows before the reply (FUA emulated with a flush). */
  trim(offsetBytes: number, lengthBytes: number, fua: boolean, done: ExportDone): void {
    const sector = offsetBytes / SECTOR_SIZE_BYTES;
    const sectorCount = lengthBytes / SECTOR_SIZE_BYTES;
    const started = this.begin(NBD_CMD_TRIM, 'trim', offsetBytes, lengthBytes);
    const id = this.oracle.issueDiscard(sector, sectorCount);
    const handle = this.overlap.begin(sector, sectorCount);
    this.stackNow.device.discard({ sector, sectorCount }, (error) => {
      this.oracle.completeWrite(id, error !== null);
      this.overlap.end(handle);
      const reply = (failure: BlockIoError | null) => {
        this.finish(NBD_CMD_TRIM, started, failure);
        done(errnoOf(failure), null);
      };
      if (error === null && fua) this.preflush(reply);
      else reply(error);
    });
    this.clock.kick();
  }

  /** Zeros written in pieces of at most 1 MiB (each a write of its own), all with the request's FUA. */
  writeZeroes(offsetBytes: number, lengthBytes: number, fua: boolean, done: ExportDone): void {
    const started = this.begin(NBD_CMD_WRITE_ZEROES, 'write', offsetBytes, lengthBytes);
    let remaining = Math.ceil(lengthBytes / ZERO_PIECE_BYTES);
    let failure: BlockIoError | null = null;
    for (let at = 0; at < lengthBytes; at += ZERO_PIECE_BYTES) {
      const pieceBytes = Math.min(ZERO_PIECE_BYTES, lengthBytes - at);
      const sector = (offsetBytes + at) / SECTOR_SIZE_BYTES;
      const sectorCount = pieceBytes / SECTOR_SIZE_BYTES;
      const id = this.oracle.issueZeroes(sector, sectorCount, fua);
      const handle = this.overlap.begin(sector, sectorCount);
      const data = ZERO_PIECE.subarray(0, pieceBytes);
      this.stackNow.device.write({ sector, data, fua, stable: true }, (error) => {
        this.oracle.completeWrite(id, error !== null);
        this.overlap.end(handle);
        failure ??= error;
        remaining--;
        if (remaining > 0) return;
        this.finish(NBD_CMD_WRITE_ZEROES, started, failure);
        this.writeBack.check();
        done(errnoOf(failure), null);
      });
    }
    this.clock.kick();
  }

  /** `base:allocation` of a range, from the leg reads are served from. */
  blockStatus(offsetBytes: number, lengthBytes: number, reqOne: boolean): BlockExtent[] {
    const leg = this.stackNow.mirror.defaultLeg;
    // Answered from the leg at once: no simulated time passes.
    this.metrics.completed(NBD_CMD_BLOCK_STATUS, false, 0);
    return allocationExtents(
      { store: (leg.device as SimulatedDevice).content, offsetSectors: leg.offsetSectors },
      { sector: offsetBytes / SECTOR_SIZE_BYTES, sectorCount: lengthBytes / SECTOR_SIZE_BYTES },
      { reqOne },
    );
  }

  /** A request was refused before it reached the world (counted as an error of its command). */
  refused(type: number): void {
    this.metrics.refused(type);
  }

  /** Makes `name` fail every read, write and flush (dm-flakey style, until restored). */
  failDevice(name: string): void {
    this.deviceNamed(name).faults.fail();
    this.clock.kick();
  }

  /**
   * Heals `name` and reloads the same table (suspend, load, resume), as an
   * administrator does after replacing a disk: the mirror forgets the
   * failure and resyncs what its log says is out of sync.
   */
  restoreDevice(name: string): void {
    this.deviceNamed(name).faults.heal();
    this.stackNow.reload(this.stackNow.tableText);
    this.clock.resync();
    this.clock.kick();
  }

  suspend(): void {
    this.stackNow.suspend();
    this.clock.resync();
    this.clock.kick();
  }

  resume(): void {
    this.stackNow.resume();
    this.clock.resync();
    this.clock.kick();
  }

  /**
   * Pulls the power (the caller drops every connection first): see
   * power-cut.ts. Requests in flight are lost; their completions never come.
   */
  powerCut(strategy: CrashStrategy): PowerCutReport {
    const checker = this.checker ?? new MirrorChecker({ world: this.world, stack: this.stackNow });
    const result = powerCut({
      number: this.powerCuts.length + 1,
      world: this.world,
      stack: this.stackNow,
      checker,
      oracle: this.oracle,
      overlap: this.overlap,
      strategy,
      strategyName: strategy,
      requestsLost: this.inFlight,
      writeCache: this.writeCache,
      replay: this.replayCommand(strategy),
    });
    if (this.checker === null) checker.detach();
    this.stackNow = result.stack;
    this.inFlight = 0;
    this.writeBack.reset();
    this.powerCuts.push(result.report);
    this.metrics.powerCuts++;
    this.metrics.powerCutViolations += result.report.violationCount;
    this.clock.resync();
    return result.report;
  }

  /** The figures `/metrics` reads from the world now. */
  worldMetrics(connectionsOpen: number): WorldMetrics {
    const mirror = this.stackNow.mirror;
    const roleOf = (device: SimulatedDevice) =>
      this.stackNow.logDevices.includes(device) ? ('log' as const) : ('leg' as const);
    return {
      requestsInFlight: this.inFlight,
      connectionsOpen,
      simulatedTicks: this.world.scheduler.now(),
      regions: mirror.regionCount,
      regionsInSync: countRegionsInSync(mirror),
      regionsRecovered: mirror.stats.regionsRecovered,
      sectorsResynced: mirror.stats.sectorsResynced,
      suspended: this.stackNow.device.suspended,
      cacheWriteBacks: this.writeBack.destages,
      devices: this.world.devices.map((device) => ({
        name: device.name,
        role: roleOf(device),
        reads: device.stats.reads,
        writes: device.stats.writes,
        flushes: device.stats.flushes,
        sectorsWritten: device.stats.sectorsWritten,
        errors: device.stats.errors,
        faulty: device.faults.isFaulty,
        volatileWrites: device.nonDurableWriteCount,
      })),
    };
  }

  /** The `mirrorsim run` line that replays the recorded requests with a crash, or null. */
  private replayCommand(strategy: CrashStrategy): string | null {
    if (this.recorder === null) return null;
    this.recorder.flush();
    const table = this.stackNow.tableText;
    return `npx mirrorsim run --workload fio:${this.recorder.path} --ops ${this.recorder.entries} --table "${table}" --seed ${this.seed} --crash random --crash-state ${strategy}`;
  }

  /** White-box invariant violations found so far (empty without `whiteBox`). */
  get invariantViolations(): readonly string[] {
    return (this.checker?.violations ?? []).map(
      (violation) =>
        `invariant ${violation.invariant} at event ${violation.step}: ${violation.message}`,
    );
  }

  /** Stops the clock and closes the record file. */
  close(): void {
    this.clock.stop();
    this.recorder?.close(this.world.scheduler.now());
  }

  private begin(
    type: number,
    action: 'read' | 'write' | 'trim' | 'sync',
    offsetBytes: number,
    lengthBytes: number,
  ): number {
    this.clock.beforeSubmit();
    this.inFlight++;
    this.recorder?.record(this.world.scheduler.now(), action, offsetBytes, lengthBytes);
    assert(type >= 0, 'a request has a command');
    return this.world.scheduler.now();
  }

  private finish(type: number, startedTicks: number, error: BlockIoError | null): void {
    this.inFlight--;
    assert(this.inFlight >= 0, 'requests in flight went negative');
    this.metrics.completed(type, error !== null, this.world.scheduler.now() - startedTicks);
  }

  private preflush(done: (error: BlockIoError | null) => void): void {
    const token = this.oracle.issueFlush();
    this.stackNow.device.flush((error) => {
      this.oracle.completeFlush(token, error !== null);
      done(error);
    });
  }

  private checkRead(
    sector: number,
    data: Uint8Array,
    issueClock: number,
    completeClock: number,
  ): void {
    const violations = this.oracle.checkRead(sector, data, issueClock, completeClock);
    this.metrics.readViolations += violations.length;
    for (const violation of violations) {
      if (this.readViolations.length >= READ_VIOLATIONS_KEPT) break;
      this.readViolations.push(
        `read of sector ${violation.sector}: ${violation.found}, expected ${violation.expected}`,
      );
    }
  }

  private deviceNamed(name: string): SimulatedDevice {
    const device = this.world.devices.find((each) => each.name === name);
    if (device === undefined) {
      const names = this.world.devices.map((each) => each.name).join(', ');
      throw new RangeError(`No device "${name}" in the served stack: expected one of ${names}`);
    }
    return device;
  }
}

/** A mirror error as NBD reports it: EIO, or EINVAL for an unsupported operation (as nbdkit maps ENOTSUP). */
function errnoOf(error: BlockIoError | null): NbdErrno {
  if (error === null) return 0;
  return error.errno === 'EOPNOTSUPP' ? NBD_EINVAL : NBD_EIO;
}
