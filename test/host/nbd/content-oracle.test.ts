/**
 * The register oracle fed by content instead of stamps (DESIGN.md
 * invariant 5): a client's data is identified by its per-sector hash.
 */
import { describe, expect, it } from 'vitest';
import { ContentOracle } from '../../../host/nbd/content-oracle.js';
import { WriteHistory } from '../../../sim/oracle/write-history.js';

const SECTOR = 512;

function pattern(byte: number, sectors = 1): Uint8Array {
  return new Uint8Array(sectors * SECTOR).fill(byte);
}

describe('ContentOracle after a crash', () => {
  it('a FUA write, and a write completed before a completed flush, must read back', () => {
    const oracle = new ContentOracle();
    const fua = oracle.issueWrite(0, pattern(1), true);
    oracle.completeWrite(fua, false);
    const flushed = oracle.issueWrite(1, pattern(2), false);
    oracle.completeWrite(flushed, false);
    const token = oracle.issueFlush();
    oracle.completeFlush(token, false);
    oracle.crash();
    expect(oracle.verifySector(0, pattern(1))).toBeNull();
    expect(oracle.verifySector(1, pattern(2))).toBeNull();
    const lost = oracle.verifySector(0, pattern(0));
    expect(lost).toEqual({
      sector: 0,
      found: 'zero',
      expected: 'one of write 1 (as the crash left it)',
    });
  });

  it('an unflushed write may be lost or kept; foreign data is never allowed', () => {
    const oracle = new ContentOracle();
    const id = oracle.issueWrite(8, pattern(7, 2), false);
    oracle.completeWrite(id, false);
    oracle.crash();
    expect(oracle.verifySector(8, pattern(7))).toBeNull();
    expect(oracle.verifySector(9, pattern(0))).toBeNull();
    const foreign = oracle.verifySector(9, pattern(0x42));
    expect(foreign?.found).toBe('data no served write put there');
  });

  it('a write overwritten durably cannot come back (it is not allowed after the newer durable write)', () => {
    const oracle = new ContentOracle();
    const old = oracle.issueWrite(0, pattern(1), true);
    oracle.completeWrite(old, false);
    const newer = oracle.issueWrite(0, pattern(2), true);
    oracle.completeWrite(newer, false);
    oracle.crash();
    expect(oracle.verifySector(0, pattern(1))).toEqual({
      sector: 0,
      found: "write 1's data",
      expected: 'one of write 2',
    });
  });

  it('identical content written twice matches whichever write is allowed; zeros match WRITE_ZEROES and discards', () => {
    const scenario = () => {
      const oracle = new ContentOracle();
      for (const id of [
        oracle.issueWrite(0, pattern(5), true),
        oracle.issueWrite(0, pattern(5), true),
        oracle.issueZeroes(4, 2, true),
        oracle.issueWrite(6, pattern(3), true),
        oracle.issueDiscard(6, 1),
      ]) {
        oracle.completeWrite(id, false);
      }
      oracle.crash();
      return oracle;
    };
    const oracle = scenario();
    expect(oracle.verifySector(0, pattern(5))).toBeNull();
    expect(oracle.verifySector(4, pattern(0))).toBeNull();
    expect(oracle.verifySector(6, pattern(0)), 'the discard may have zeroed it').toBeNull();
    expect(scenario().verifySector(6, pattern(3)), 'or not (it was not durable)').toBeNull();
    expect(scenario().verifySector(4, pattern(3))?.found).toBe('data no served write put there');
  });

  it('pins what a crash left, so a second crash must find it or a later write', () => {
    const oracle = new ContentOracle();
    const id = oracle.issueWrite(0, pattern(9), false);
    oracle.completeWrite(id, false);
    oracle.crash();
    expect(oracle.verifySector(0, pattern(0)), 'lost in the first crash').toBeNull();
    oracle.crash();
    expect(oracle.verifySector(0, pattern(9))?.found).toBe("write 1's data");
    expect(oracle.verifySector(0, pattern(0))).toBeNull();
  });
});

describe('ContentOracle reads', () => {
  it('a read may return the last completed write or one in flight, never an older overwritten one', () => {
    const oracle = new ContentOracle();
    const old = oracle.issueWrite(0, pattern(1), false);
    oracle.completeWrite(old, false);
    const newer = oracle.issueWrite(0, pattern(2), false);
    oracle.completeWrite(newer, false);
    const inFlight = oracle.issueWrite(0, pattern(3), false);
    const issued = oracle.tick();
    const completed = oracle.tick();
    expect(oracle.checkRead(0, pattern(2), issued, completed)).toEqual([]);
    expect(oracle.checkRead(0, pattern(3), issued, completed)).toEqual([]);
    const stale = oracle.checkRead(
      0,
      concat(pattern(2), pattern(1)).subarray(512),
      issued,
      completed,
    );
    expect(stale).toHaveLength(1);
    expect(stale[0]).toMatchObject({ sector: 0, found: "write 1's data" });
    expect(oracle.checkRead(5, pattern(0), issued, completed), 'never written: zeros').toEqual([]);
    oracle.completeWrite(inFlight, false);
    expect(oracle.writesIssued).toBe(3);
  });
});

describe('WriteHistory.writeIdsAt', () => {
  it('lists the writes that may still be read at a sector, oldest first, as a copy', () => {
    const history = new WriteHistory();
    expect(history.writeIdsAt(3)).toEqual([]);
    history.issueWrite({ id: 1, kind: 'write', sector: 0, sectorCount: 4, fua: false });
    expect(history.writeIdsAt(3)).toEqual([1]);
    history.issueWrite({ id: 2, kind: 'discard', sector: 2, sectorCount: 2, fua: false });
    const ids = history.writeIdsAt(3);
    expect(ids).toEqual([1, 2]);
    (ids as number[]).push(99);
    expect(history.writeIdsAt(3)).toEqual([1, 2]);
    expect(history.writeIdsAt(1)).toEqual([1]);
  });
});

function concat(left: Uint8Array, right: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(left.length + right.length);
  bytes.set(left);
  bytes.set(right, left.length);
  return bytes;
}
