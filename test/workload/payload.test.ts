import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  readStamp,
  STAMP_MAGIC,
  STAMP_SECTOR_COUNT_MAX,
  stampWriteData,
} from '../../sim/workload/payload.js';

const SECTOR = 512;

function sectorOf(data: Uint8Array, index: number): Uint8Array {
  return data.subarray(index * SECTOR, (index + 1) * SECTOR);
}

/** What a mixed sector must read as: the write it happens to equal byte for byte, else foreign. */
function expectedReading(sector: Uint8Array, at: number, candidates: Uint8Array[]) {
  const whole = candidates.find((candidate) => candidate.every((byte, i) => byte === sector[i]));
  if (whole === undefined) return { kind: 'foreign', reason: expect.any(String) };
  return readStamp(whole, at);
}

const writeIds = fc.oneof(
  fc.nat({ max: 1000 }),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
);
const sectors = fc.oneof(fc.nat({ max: 1 << 20 }), fc.integer({ min: 0, max: 2 ** 41 }));

describe('stampWriteData and readStamp', () => {
  test.prop([writeIds, sectors, fc.integer({ min: 1, max: 64 })])(
    'every sector of a write reads back as that write at its own sector',
    (writeId, sector, sectorCount) => {
      const data = stampWriteData(writeId, sector, sectorCount);
      expect(data.length).toBe(sectorCount * SECTOR);
      const readings = Array.from({ length: sectorCount }, (_, index) =>
        readStamp(sectorOf(data, index), sector + index),
      );
      expect(readings).toEqual(readings.map(() => ({ kind: 'stamp', writeId })));
    },
  );

  it('is deterministic and differs between writes and between sectors', () => {
    const first = stampWriteData(5, 100, 2);
    expect(stampWriteData(5, 100, 2)).toEqual(first);
    expect(stampWriteData(6, 100, 2)).not.toEqual(first);
    expect(sectorOf(first, 0)).not.toEqual(sectorOf(first, 1));
  });

  it('lays a sector out as little-endian words: magic, writeId, sector, then checksum and fill', () => {
    const data = stampWriteData(0x01020304, 0x0a0b0c0d, 1);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    expect(view.getUint32(0, true)).toBe(STAMP_MAGIC);
    expect([...data.subarray(0, 4)]).toEqual([0x54, 0x53, 0x53, 0x4d]);
    expect(view.getUint32(4, true)).toBe(0x01020304);
    expect(view.getUint32(8, true)).toBe(0);
    expect(view.getUint32(12, true)).toBe(0x0a0b0c0d);
    expect(view.getUint32(16, true)).toBe(0);
    // The fill steps by the golden-ratio constant from word to word.
    const step = (view.getUint32(7 * 4, true) - view.getUint32(6 * 4, true)) >>> 0;
    expect(step).toBe(0x9e3779b9);
  });

  it('reads an all-zero sector as zero', () => {
    expect(readStamp(new Uint8Array(SECTOR), 0)).toEqual({ kind: 'zero' });
    expect(readStamp(new Uint8Array(SECTOR), 2 ** 40)).toEqual({ kind: 'zero' });
  });

  it('reads a stamp from a buffer at an odd byte offset', () => {
    const backing = new Uint8Array(SECTOR + 1);
    backing.set(stampWriteData(77, 9, 1), 1);
    expect(readStamp(backing.subarray(1), 9)).toEqual({ kind: 'stamp', writeId: 77 });
  });

  test.prop([
    fc.integer({ min: 1, max: SECTOR - 1 }),
    writeIds,
    writeIds,
    fc.nat({ max: 1 << 20 }),
  ])(
    'a sector torn between two writes of that sector is foreign, wherever the tear',
    (cut, firstId, secondId, sector) => {
      fc.pre(firstId !== secondId);
      const first = stampWriteData(firstId, sector, 1);
      const second = stampWriteData(secondId, sector, 1);
      const torn = new Uint8Array(SECTOR);
      torn.set(first.subarray(0, cut));
      torn.set(second.subarray(cut), cut);
      // A tear inside bytes both writes share (the magic) leaves one write whole.
      expect(readStamp(torn, sector)).toEqual(expectedReading(torn, sector, [first, second]));
      expect(readStamp(torn, sector)).not.toEqual({ kind: 'stamp', writeId: firstId });
    },
  );

  test.prop([fc.integer({ min: 1, max: SECTOR - 1 }), writeIds, fc.nat({ max: 1 << 20 })])(
    'a sector only partly written over zeros is foreign',
    (cut, writeId, sector) => {
      const stamped = stampWriteData(writeId, sector, 1);
      const prefix = new Uint8Array(SECTOR);
      prefix.set(stamped.subarray(0, cut));
      const suffix = new Uint8Array(SECTOR);
      suffix.set(stamped.subarray(cut), cut);
      expect(readStamp(prefix, sector)).toEqual(expectedReading(prefix, sector, [stamped]));
      expect(readStamp(suffix, sector).kind).toBe('foreign');
    },
  );

  test.prop([fc.nat({ max: SECTOR - 1 }), fc.integer({ min: 0, max: 7 }), writeIds, sectors])(
    'one flipped bit anywhere makes the sector foreign',
    (byte, bit, writeId, sector) => {
      const data = stampWriteData(writeId, sector, 1);
      data[byte] = data[byte]! ^ (1 << bit);
      const reading = readStamp(data, sector);
      expect(reading.kind).toBe('foreign');
    },
  );

  it('explains a flipped fill byte, a corrupt header and a missing magic', () => {
    const fill = stampWriteData(3, 40, 1);
    fill[300] = fill[300]! ^ 0xff;
    expect(readStamp(fill, 40)).toEqual({
      kind: 'foreign',
      reason: "torn or corrupt: fill word 75 differs from write 3's stamp",
    });
    const header = stampWriteData(3, 40, 1);
    header[5] = header[5]! ^ 1;
    expect(readStamp(header, 40)).toMatchObject({ reason: expect.stringMatching(/checksum/) });
    const garbage = new Uint8Array(SECTOR).fill(0xab);
    expect(readStamp(garbage, 40)).toMatchObject({
      reason: expect.stringMatching(/no stamp magic/),
    });
  });

  test.prop([writeIds, fc.nat({ max: 1 << 30 }), fc.integer({ min: 1, max: 1 << 20 })])(
    'a stamp read at another sector is foreign: misdirected',
    (writeId, sector, distance) => {
      const data = stampWriteData(writeId, sector, 1);
      const reading = readStamp(data, sector + distance);
      expect(reading).toEqual({
        kind: 'foreign',
        reason: `misdirected: write ${writeId}'s stamp for sector ${sector} read at sector ${sector + distance}`,
      });
    },
  );

  it('keeps sectors past 2^32 apart from their low 32 bits', () => {
    const high = stampWriteData(1, 2 ** 32 + 5, 1);
    expect(readStamp(high, 2 ** 32 + 5)).toEqual({ kind: 'stamp', writeId: 1 });
    expect(readStamp(high, 5).kind).toBe('foreign');
  });

  it('rejects bad arguments with a RangeError naming the value', () => {
    expect(() => stampWriteData(-1, 0, 1)).toThrow(/writeId -1/);
    expect(() => stampWriteData(1.5, 0, 1)).toThrow(RangeError);
    expect(() => stampWriteData(0, -8, 1)).toThrow(/sector -8/);
    expect(() => stampWriteData(0, 0, 0)).toThrow(/sector count 0/);
    expect(() => stampWriteData(0, 0, STAMP_SECTOR_COUNT_MAX + 1)).toThrow(RangeError);
    expect(() => stampWriteData(0, Number.MAX_SAFE_INTEGER, 2)).toThrow(/overflows/);
    expect(() => readStamp(new Uint8Array(511), 0)).toThrow(/exactly 512 bytes, got 511/);
    expect(() => readStamp(new Uint8Array(512), -1)).toThrow(/expected sector -1/);
  });
});
