/** base:allocation from a sparse leg (reference nbd.md §3.5: HOLE|ZERO = 3 for holes, REQ_ONE, extent limits). */
import { describe, expect, it } from 'vitest';
import { allocationExtents } from '../../../host/nbd/block-status.js';
import { SparseStore } from '../../../src/block/sparse-store.js';

function store(writtenChunks: readonly number[]): SparseStore {
  const content = new SparseStore(1024);
  for (const chunk of writtenChunks) content.write(chunk * 8, new Uint8Array(4096).fill(1));
  return content;
}

describe('allocationExtents', () => {
  it('merges written chunks into data extents and the rest into holes that read as zeros', () => {
    const source = { store: store([1, 2, 5]), offsetSectors: 0 };
    expect(allocationExtents(source, { sector: 0, sectorCount: 64 }, { reqOne: false })).toEqual([
      { lengthBytes: 4096, flags: 3 },
      { lengthBytes: 8192, flags: 0 },
      { lengthBytes: 8192, flags: 3 },
      { lengthBytes: 4096, flags: 0 },
      { lengthBytes: 2 * 4096, flags: 3 },
    ]);
  });

  it('clips extents to the request, also in the middle of a chunk, and honours the leg offset', () => {
    const source = { store: store([10]), offsetSectors: 64 };
    expect(allocationExtents(source, { sector: 17, sectorCount: 6 }, { reqOne: false })).toEqual([
      { lengthBytes: 6 * 512, flags: 0 },
    ]);
    expect(allocationExtents(source, { sector: 12, sectorCount: 8 }, { reqOne: false })).toEqual([
      { lengthBytes: 4 * 512, flags: 3 },
      { lengthBytes: 4 * 512, flags: 0 },
    ]);
  });

  it('REQ_ONE gives exactly one extent, no longer than the request (§3.3)', () => {
    const source = { store: store([0, 1, 3]), offsetSectors: 0 };
    expect(allocationExtents(source, { sector: 0, sectorCount: 64 }, { reqOne: true })).toEqual([
      { lengthBytes: 8192, flags: 0 },
    ]);
    expect(allocationExtents(source, { sector: 16, sectorCount: 64 }, { reqOne: true })).toEqual([
      { lengthBytes: 4096, flags: 3 },
    ]);
    expect(
      allocationExtents(
        { store: store([]), offsetSectors: 0 },
        { sector: 0, sectorCount: 1024 },
        { reqOne: true },
      ),
    ).toEqual([{ lengthBytes: 1024 * 512, flags: 3 }]);
  });

  it('stops at the extent limit without calling the rest a hole (the client asks again)', () => {
    const source = { store: store([1, 3, 5]), offsetSectors: 0 };
    expect(
      allocationExtents(source, { sector: 0, sectorCount: 64 }, { reqOne: false, extentsMax: 3 }),
    ).toEqual([
      { lengthBytes: 4096, flags: 3 },
      { lengthBytes: 4096, flags: 0 },
      { lengthBytes: 4096, flags: 3 },
    ]);
  });
});
