/**
 * Drives a workload against a mapped device: keeps `depth` requests in
 * flight, stamps every write so the oracle can identify it, records issue
 * and completion in the {@link WriteHistory}, and checks every read it gets
 * back. Like fio's `serialize_overlap`, a write that overlaps a write still
 * in flight waits for it: the mirror, like Linux, does not order
 * overlapping writes, and legs would then legitimately diverge.
 */
import { assert } from '../../src/assert.js';
import type { BlockIoError } from '../../src/block/block-device.js';
import type { MappedDevice } from '../../src/dm/mapped-device.js';
import type { Scheduler } from '../../src/world/scheduler.js';
import type { SectorViolation, WriteHistory } from '../oracle/write-history.js';
import type { Workload, WorkloadRequest } from '../workload/workload.js';
import { RequestIssuer } from './request-issuer.js';

export interface DriverOptions {
  readonly scheduler: Scheduler;
  readonly device: MappedDevice;
  readonly workload: Workload;
  /** Requests in flight at once (fio's iodepth). */
  readonly depth: number;
  readonly history: WriteHistory;
  /** Issue a flush after every N writes (fio's fsync=N); 0 never. */
  readonly flushEveryWrites?: number;
  /** The first write id (ids must stay unique across reboots of one run). */
  readonly firstWriteId?: number;
}

export interface DriverStats {
  issued: number;
  writesIssued: number;
  writesAcknowledged: number;
  writeErrors: number;
  reads: number;
  readErrors: number;
  flushes: number;
  flushErrors: number;
  discards: number;
  /** Write latencies in ticks, in completion order. */
  writeLatencyTicks: number[];
}

interface InFlight {
  readonly sector: number;
  readonly sectorCount: number;
  readonly isWrite: boolean;
}

export class WorkloadDriver {
  readonly stats: DriverStats = {
    issued: 0,
    writesIssued: 0,
    writesAcknowledged: 0,
    writeErrors: 0,
    reads: 0,
    readErrors: 0,
    flushes: 0,
    flushErrors: 0,
    discards: 0,
    writeLatencyTicks: [],
  };
  readonly readViolations: SectorViolation[] = [];
  private readonly options: DriverOptions;
  private readonly inFlight = new Set<InFlight>();
  private waiting: WorkloadRequest | undefined;
  private exhausted = false;
  private stopped = false;
  private readonly issuer: RequestIssuer;
  private writesSinceFlush = 0;

  constructor(options: DriverOptions) {
    assert(
      Number.isSafeInteger(options.depth) && options.depth >= 1,
      `depth ${options.depth} is not ≥ 1`,
    );
    this.options = options;
    this.issuer = new RequestIssuer({
      device: options.device,
      history: options.history,
      ...(options.firstWriteId === undefined ? {} : { firstWriteId: options.firstWriteId }),
    });
  }

  /** Requests in flight. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** The workload is exhausted and nothing is in flight. */
  get done(): boolean {
    return this.exhausted && this.waiting === undefined && this.inFlight.size === 0;
  }

  /** The id the next write will get. */
  get writeIdNext(): number {
    return this.issuer.writeIdNext;
  }

  start(): void {
    this.fill();
  }

  /** Stops issuing (the world is about to crash); callbacks never arrive after a crash. */
  stop(): void {
    this.stopped = true;
  }

  private fill(): void {
    while (!this.stopped && this.inFlight.size < this.options.depth) {
      const request = this.waiting ?? this.options.workload.next();
      this.waiting = undefined;
      if (request === undefined) {
        this.exhausted = true;
        return;
      }
      if ((request.op === 'write' || request.op === 'discard') && this.overlapsWrite(request)) {
        // serialize_overlap: wait until the overlapping write completes.
        this.waiting = request;
        return;
      }
      this.issue(request);
    }
  }

  private overlapsWrite(request: WorkloadRequest): boolean {
    for (const flight of this.inFlight) {
      if (!flight.isWrite) continue;
      if (
        request.sector < flight.sector + flight.sectorCount &&
        flight.sector < request.sector + request.sectorCount
      ) {
        return true;
      }
    }
    return false;
  }

  private issue(request: WorkloadRequest): void {
    this.stats.issued++;
    switch (request.op) {
      case 'write':
        this.issueWrite(request);
        break;
      case 'read':
        this.issueRead(request);
        break;
      case 'flush':
        this.issueFlush();
        break;
      case 'discard':
        this.issueDiscard(request);
        break;
    }
  }

  private issueWrite(request: WorkloadRequest): void {
    const flight: InFlight = {
      sector: request.sector,
      sectorCount: request.sectorCount,
      isWrite: true,
    };
    this.inFlight.add(flight);
    this.stats.writesIssued++;
    const startTicks = this.options.scheduler.now();
    this.issuer.write(request, (error) => {
      if (error === null) {
        this.stats.writesAcknowledged++;
        this.stats.writeLatencyTicks.push(this.options.scheduler.now() - startTicks);
      } else {
        this.stats.writeErrors++;
      }
      this.finish(flight);
    });
    this.writesSinceFlush++;
    const every = this.options.flushEveryWrites ?? 0;
    if (every > 0 && this.writesSinceFlush >= every && this.inFlight.size < this.options.depth) {
      this.writesSinceFlush = 0;
      this.issueFlush();
    }
  }

  private issueRead(request: WorkloadRequest): void {
    const flight: InFlight = {
      sector: request.sector,
      sectorCount: request.sectorCount,
      isWrite: false,
    };
    this.inFlight.add(flight);
    this.stats.reads++;
    this.issuer.read(request, (error, _data, violations) => {
      if (error !== null) this.stats.readErrors++;
      for (const violation of violations) this.readViolations.push(violation);
      this.finish(flight);
    });
  }

  private issueFlush(): void {
    const flight: InFlight = { sector: 0, sectorCount: 0, isWrite: false };
    this.inFlight.add(flight);
    this.stats.flushes++;
    this.issuer.flush((error: BlockIoError | null) => {
      if (error !== null) this.stats.flushErrors++;
      this.finish(flight);
    });
  }

  private issueDiscard(request: WorkloadRequest): void {
    const flight: InFlight = {
      sector: request.sector,
      sectorCount: request.sectorCount,
      isWrite: true,
    };
    this.inFlight.add(flight);
    this.stats.discards++;
    this.issuer.discard(request, () => this.finish(flight));
  }

  private finish(flight: InFlight): void {
    assert(this.inFlight.delete(flight), 'a request completed that was not in flight');
    this.fill();
  }
}
