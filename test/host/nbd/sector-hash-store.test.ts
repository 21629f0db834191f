/** What the content oracle remembers of each write: per-sector hashes, packed by write id. */
import { describe, expect, it } from 'vitest';
import { isZeroSector, sectorHashes } from '../../../host/nbd/_internals/sector-hash.js';
import { SectorHashStore } from '../../../host/nbd/_internals/sector-hash-store.js';
import { invariantMessage } from '../../assert-test-kit.js';

function sectors(...bytes: number[]): Uint8Array {
  const data = new Uint8Array(bytes.length * 512);
  for (const [index, byte] of bytes.entries()) data.fill(byte, index * 512, (index + 1) * 512);
  return data;
}

describe('sector hashes', () => {
  it('differ between contents, agree between aligned and unaligned copies of one content', () => {
    const data = sectors(1, 2, 1);
    const hashes = sectorHashes(data);
    expect(hashes.length).toBe(6);
    expect([hashes[0], hashes[1]]).toEqual([hashes[4], hashes[5]]);
    expect([hashes[0], hashes[1]]).not.toEqual([hashes[2], hashes[3]]);
    const unaligned = new Uint8Array(data.length + 1).subarray(1);
    unaligned.set(data);
    expect([...sectorHashes(unaligned)]).toEqual([...hashes]);
    const oneBit = data.slice(0, 512);
    oneBit[300] = oneBit[300]! ^ 1;
    expect([...sectorHashes(oneBit)]).not.toEqual([...hashes.subarray(0, 2)]);
    expect(isZeroSector(new Uint8Array(512))).toBe(true);
    expect(isZeroSector(sectors(0).fill(1, 511))).toBe(false);
  });
});

describe('SectorHashStore', () => {
  it('answers for each sector of each write, zero writes, and unknown ids', () => {
    const store = new SectorHashStore();
    const data = sectors(3, 4);
    store.addData(1, data);
    store.addZero(2);
    const hashes = sectorHashes(data);
    expect(store.holds(1, 0, false, hashes[0]!, hashes[1]!)).toBe(true);
    expect(store.holds(1, 1, false, hashes[0]!, hashes[1]!)).toBe(false);
    expect(store.holds(1, 1, false, hashes[2]!, hashes[3]!)).toBe(true);
    expect(store.holds(1, 0, true, 0, 0)).toBe(false);
    expect(store.holds(2, 5, true, 0, 0)).toBe(true);
    expect(store.holds(2, 5, false, hashes[0]!, hashes[1]!)).toBe(false);
    expect(store.holds(3, 0, true, 0, 0)).toBe(false);
    expect(store.holds(100_000, 0, true, 0, 0)).toBe(false);
  });

  it('keeps many writes across pages, and large writes on pages of their own', () => {
    const store = new SectorHashStore();
    const large = sectors(...Array.from({ length: 40_000 }, (_, index) => index & 0xff));
    for (let id = 1; id <= 5000; id++) {
      if (id === 2500) store.addData(id, large);
      else store.addData(id, sectors(id & 0xff, (id >> 8) & 0xff, 1, 2, 3, 4, 5, 6));
    }
    for (const id of [1, 2499, 2501, 5000]) {
      const hashes = sectorHashes(sectors(id & 0xff, (id >> 8) & 0xff));
      expect(store.holds(id, 1, false, hashes[2]!, hashes[3]!), `write ${id}`).toBe(true);
    }
    const tail = sectorHashes(large.subarray(39_999 * 512));
    expect(store.holds(2500, 39_999, false, tail[0]!, tail[1]!)).toBe(true);
    expect(invariantMessage(() => store.addZero(5000))).toBe('write 5000 hashed twice');
    expect(invariantMessage(() => store.addZero(0))).toBe('write id 0 is not ≥ 1');
  });
});
