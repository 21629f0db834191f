/**
 * Issues user requests to a mapped device with the oracle's bookkeeping:
 * every write gets a unique id and stamped data (sim/workload/payload.ts),
 * issue and completion go into the {@link WriteHistory}, and every sector a
 * read returns is checked against it. The workload driver and the
 * crash-consistency commands both issue through here, so the oracle sees
 * every request the same way whoever sends it.
 *
 * It does not order requests: callers that must not overlap writes in
 * flight (fio's `serialize_overlap`) keep their own queue.
 */
import type { BlockIoError } from '../../src/block/block-device.js';
import { SECTOR_SIZE_BYTES } from '../../src/block/sector.js';
import type { MappedDevice } from '../../src/dm/mapped-device.js';
import type { SectorViolation, WriteHistory } from '../oracle/write-history.js';
import { stampWriteData } from '../workload/payload.js';

/** Where requests go and where they are recorded. */
export interface RequestIssuerOptions {
  readonly device: MappedDevice;
  readonly history: WriteHistory;
  /** The first write id (ids must stay unique across reboots of one run). */
  readonly firstWriteId?: number;
}

/** A range of sectors of the mapped device. */
export interface SectorSpan {
  readonly sector: number;
  readonly sectorCount: number;
}

/** What a read returned, once the oracle has checked it. */
export type ReadDone = (
  error: BlockIoError | null,
  data: Uint8Array | null,
  violations: readonly SectorViolation[],
) => void;

const NO_VIOLATIONS: readonly SectorViolation[] = [];

/** Issues requests with the oracle’s bookkeeping (see the file comment). */
export class RequestIssuer {
  /** Where requests go; a reboot builds a new mapped device, so the caller may switch it. */
  device: MappedDevice;
  private readonly history: WriteHistory;
  private nextWriteId: number;

  constructor(options: RequestIssuerOptions) {
    this.device = options.device;
    this.history = options.history;
    this.nextWriteId = options.firstWriteId ?? 1;
  }

  /** The id the next write or discard will get. */
  get writeIdNext(): number {
    return this.nextWriteId;
  }

  /** A stamped write; `done` runs after the history recorded its completion. Returns its id. */
  write(
    request: SectorSpan & { readonly fua: boolean },
    done: (error: BlockIoError | null) => void,
  ): number {
    const id = this.nextWriteId++;
    // Named fields, not a spread of the request: this is the hottest line of the driver (profiled).
    this.history.issueWrite({
      id,
      kind: 'write',
      sector: request.sector,
      sectorCount: request.sectorCount,
      fua: request.fua,
    });
    const data = stampWriteData(id, request.sector, request.sectorCount);
    this.device.write({ sector: request.sector, data, fua: request.fua }, (error) => {
      this.history.completeWrite(id, error !== null);
      done(error);
    });
    return id;
  }

  /** A read; every sector it returns is checked against the history before `done` runs. */
  read(request: SectorSpan, done: ReadDone): void {
    const history = this.history;
    const issueClock = history.tick();
    this.device.read(request, (error, data) => {
      const completeClock = history.tick();
      if (error !== null || data === null) {
        done(error, null, NO_VIOLATIONS);
        return;
      }
      let violations: SectorViolation[] | null = null;
      for (let offset = 0; offset < request.sectorCount; offset++) {
        const bytes = data.subarray(offset * SECTOR_SIZE_BYTES, (offset + 1) * SECTOR_SIZE_BYTES);
        const violation = history.checkRead(
          request.sector + offset,
          bytes,
          issueClock,
          completeClock,
        );
        if (violation === null) continue;
        if (violations === null) violations = [];
        violations.push(violation);
      }
      done(null, data, violations ?? NO_VIOLATIONS);
    });
  }

  /** An empty PREFLUSH; on success, writes acknowledged before it was issued become durable. */
  flush(done: (error: BlockIoError | null) => void): void {
    const token = this.history.issueFlush();
    this.device.flush((error) => {
      this.history.completeFlush(token, error !== null);
      done(error);
    });
  }

  /** A discard, tracked like a write (sectors may read as zeros afterwards). Returns its id. */
  discard(request: SectorSpan, done: (error: BlockIoError | null) => void): number {
    const id = this.nextWriteId++;
    this.history.issueWrite({
      id,
      kind: 'discard',
      sector: request.sector,
      sectorCount: request.sectorCount,
      fua: false,
    });
    this.device.discard(request, (error) => {
      this.history.completeWrite(id, error !== null);
      done(error);
    });
    return id;
  }
}
