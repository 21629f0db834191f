/**
 * The register oracle (sim/oracle/write-history.ts) fed by what real NBD
 * clients do. The simulator's own workloads stamp every sector with the id
 * of the write that put it there; a client's data carries no such stamp, so
 * this oracle remembers a 64-bit hash of every sector of every write and
 * identifies a sector read back by its content: it is write `w` when its
 * hash is `w`'s hash for that sector and `w` may still be read there. The
 * judgement itself — which writes are allowed after a crash or for a read —
 * stays the WriteHistory's, asked with a stamp made for that id.
 *
 * A write is durable once it completed with FUA, or completed before a
 * flush that then completed (DESIGN.md invariant 5). Identical content
 * written twice (a pattern, zeros) matches either write; the oracle passes
 * the sector when any matching write is allowed.
 *
 * @example
 * ```ts
 * const oracle = new ContentOracle();
 * const id = oracle.issueWrite(0, data, true);
 * oracle.completeWrite(id, false);
 * oracle.crash();
 * oracle.verifySector(0, data.subarray(0, 512)); // null: the FUA write survived
 * ```
 */

import {
  type FlushToken,
  type SectorViolation,
  type TrackedWrite,
  WriteHistory,
} from '../../sim/oracle/write-history.js';
import { stampWriteData } from '../../sim/workload/payload.js';
import { assert } from '../../src/assert.js';
import { SECTOR_SIZE_BYTES } from '../../src/block/sector.js';
import { isZeroSector, sectorHashesInto } from './_internals/sector-hash.js';
import { SectorHashStore } from './_internals/sector-hash-store.js';

const ZERO_SECTOR = new Uint8Array(SECTOR_SIZE_BYTES);
/** A sector no write stamps: judging it asks the history what was expected. */
const FOREIGN_SECTOR = new Uint8Array(SECTOR_SIZE_BYTES).fill(0xa5);

/** The register oracle over a real client's data (see the file comment). */
export class ContentOracle {
  readonly history = new WriteHistory();
  private readonly content = new SectorHashStore();
  private readonly sectorScratch = new Uint32Array(2);
  private writeIdNext = 1;

  /** Writes (and discards) issued so far. */
  get writesIssued(): number {
    return this.writeIdNext - 1;
  }

  /** Records a write of `data` at `sector`; returns its id for {@link completeWrite}. */
  issueWrite(sector: number, data: Uint8Array, fua: boolean): number {
    assert(data.length > 0 && data.length % SECTOR_SIZE_BYTES === 0, 'a write is whole sectors');
    const id = this.issue('write', sector, data.length / SECTOR_SIZE_BYTES, fua);
    this.content.addData(id, data);
    return id;
  }

  /** Records a write of zeros (WRITE_ZEROES is written as zeros, §3.2). */
  issueZeroes(sector: number, sectorCount: number, fua: boolean): number {
    const id = this.issue('write', sector, sectorCount, fua);
    this.content.addZero(id);
    return id;
  }

  /** Records a discard: afterwards its sectors may read as zeros. */
  issueDiscard(sector: number, sectorCount: number): number {
    return this.issue('discard', sector, sectorCount, false);
  }

  completeWrite(id: number, failed: boolean): void {
    this.history.completeWrite(id, failed);
  }

  issueFlush(): FlushToken {
    return this.history.issueFlush();
  }

  completeFlush(token: FlushToken, failed: boolean): void {
    this.history.completeFlush(token, failed);
  }

  /** A point in the logical clock, taken when a read is issued and when it completes. */
  tick(): number {
    return this.history.tick();
  }

  /** The world crashed: everything not durable becomes indeterminate. */
  crash(): TrackedWrite[] {
    return this.history.crash();
  }

  /** Checks a read of `data` at `sector`, issued at `issueClock`, completed at `completeClock`. */
  checkRead(
    sector: number,
    data: Uint8Array,
    issueClock: number,
    completeClock: number,
  ): SectorViolation[] {
    const violations: SectorViolation[] = [];
    const sectors = data.length / SECTOR_SIZE_BYTES;
    for (let index = 0; index < sectors; index++) {
      const bytes = data.subarray(index * SECTOR_SIZE_BYTES, (index + 1) * SECTOR_SIZE_BYTES);
      const violation = this.judge(sector + index, bytes, (stamp) =>
        this.history.checkRead(sector + index, stamp, issueClock, completeClock),
      );
      if (violation !== null) violations.push(violation);
    }
    return violations;
  }

  /**
   * Checks one sector after a crash and recovery and, when it is allowed,
   * pins it (a later crash must find it or a later write). Returns the
   * violation, or null.
   */
  verifySector(sector: number, bytes: Uint8Array): SectorViolation | null {
    const history = this.history;
    return this.judge(sector, bytes, (stamp) => {
      const violation = history.checkAfterCrash(sector, stamp);
      if (violation === null) assert(history.pinAfterCrash(sector, stamp) === null, 'pin refused');
      return violation;
    });
  }

  /** Whether any write or discard ever touched `sector`. */
  isTracked(sector: number): boolean {
    return this.history.isTracked(sector);
  }

  /** Calls `visit` with every sector ever written or discarded in a range, in order. */
  forEachTrackedSector(sector: number, sectorCount: number, visit: (sector: number) => void): void {
    this.history.forEachTrackedSector(sector, sectorCount, visit);
  }

  private issue(
    kind: 'write' | 'discard',
    sector: number,
    sectorCount: number,
    fua: boolean,
  ): number {
    const id = this.writeIdNext++;
    this.history.issueWrite({ id, kind, sector, sectorCount, fua });
    return id;
  }

  /**
   * Identifies `bytes` at `sector` and asks `check` about each candidate
   * reading (zeros, or a stamp of a write whose content matches) until one
   * is allowed. Returns null when one is, else the violation.
   */
  private judge(
    sector: number,
    bytes: Uint8Array,
    check: (stamp: Uint8Array) => SectorViolation | null,
  ): SectorViolation | null {
    const zero = isZeroSector(bytes);
    if (zero && check(ZERO_SECTOR) === null) return null;
    const hashes = this.sectorScratch;
    if (zero) hashes.fill(0);
    else sectorHashesInto(bytes, hashes, 0);
    const hashHigh = hashes[0]!;
    const hashLow = hashes[1]!;
    let matched: number | null = null;
    for (const candidate of this.history.writeIdsAt(sector)) {
      const writeId = candidate > 0 ? candidate : this.history.write(candidate)!.pinnedWriteId;
      if (writeId <= 0 || !this.holds(writeId, sector, zero, hashHigh, hashLow)) continue;
      matched = writeId;
      if (check(stampWriteData(writeId, sector, 1)) === null) return null;
    }
    const expected = check(FOREIGN_SECTOR);
    assert(expected !== null, 'a foreign sector passed the oracle');
    const found = zero
      ? 'zero'
      : matched === null
        ? 'data no served write put there'
        : `write ${matched}'s data`;
    return { sector, found, expected: expected.expected };
  }

  /** Whether write `writeId` put exactly this content on `sector`. */
  private holds(
    writeId: number,
    sector: number,
    zero: boolean,
    hashHigh: number,
    hashLow: number,
  ): boolean {
    const write = this.history.write(writeId);
    if (write === undefined || write.kind === 'discard') return false;
    return this.content.holds(writeId, sector - write.sector, zero, hashHigh, hashLow);
  }
}
