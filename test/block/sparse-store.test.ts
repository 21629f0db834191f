import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/assert.js';
import { ChunkPool } from '../../src/block/chunk-pool.js';
import {
  CHUNK_SECTORS,
  CHUNK_SIZE_BYTES,
  type SparseExtent,
  SparseStore,
} from '../../src/block/sparse-store.js';

const SECTOR = 512;
/** Not a multiple of the chunk size, so the last chunk is partial. */
const SIZE_SECTORS = 100;

/** A dense model of one store: the bytes, as a real disk would hold them. */
interface Side {
  store: SparseStore;
  dense: Uint8Array;
}

interface RangeSpec {
  readonly start: number;
  readonly length: number;
}

/** Draws a non-empty range inside the store from two raw numbers. */
const rangeArbitrary: fc.Arbitrary<RangeSpec> = fc
  .tuple(fc.nat(SIZE_SECTORS - 1), fc.nat(), fc.boolean())
  .map(([start, raw, short]) => {
    const room = SIZE_SECTORS - start;
    // Short ranges are common in practice; long ones cross many chunks.
    const length = 1 + (short ? raw % Math.min(room, 10) : raw % room);
    return { start, length };
  });

/** Compares bytes fast (vitest's deep equality is slow on large typed arrays). */
function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  const mismatch = Buffer.compare(actual, expected) === 0 ? -1 : firstMismatch(actual, expected);
  expect(mismatch, 'first differing byte').toBe(-1);
}

function firstMismatch(actual: Uint8Array, expected: Uint8Array): number {
  for (let index = 0; index < actual.length; index++) {
    if (actual[index] !== expected[index]) return index;
  }
  return -1;
}

function fillPattern(sectors: number, seed: number): Uint8Array {
  const data = new Uint8Array(sectors * SECTOR);
  for (let index = 0; index < data.length; index++) {
    // Zero bytes appear too, so all-zero sectors and written-zero chunks are exercised.
    data[index] = seed % 5 === 0 ? 0 : (seed * 31 + index) & 0xff;
  }
  return data;
}

/** Extents inside a range of `length` sectors, from (gap, size) pairs. */
function buildExtents(
  length: number,
  pieces: ReadonlyArray<readonly [number, number]>,
  seed: number,
): SparseExtent[] {
  const extents: SparseExtent[] = [];
  let position = 0;
  for (const [gap, size] of pieces) {
    const start = position + gap;
    if (start >= length) break;
    const sectors = Math.min(1 + size, length - start);
    extents.push({ sectorOffset: start, data: fillPattern(sectors, seed + start) });
    position = start + sectors;
  }
  return extents;
}

type Command =
  | { kind: 'write'; side: number; range: RangeSpec; seed: number }
  | { kind: 'zero'; side: number; range: RangeSpec }
  | {
      kind: 'writeExtents';
      side: number;
      range: RangeSpec;
      pieces: Array<[number, number]>;
      seed: number;
    }
  | { kind: 'copy'; from: number; range: RangeSpec; targetStart: number }
  | { kind: 'clone'; from: number }
  | { kind: 'adopt'; from: number; chunk: number };

const side = fc.integer({ min: 0, max: 1 });
const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    kind: fc.constant('write' as const),
    side,
    range: rangeArbitrary,
    seed: fc.nat(255),
  }),
  fc.record({ kind: fc.constant('zero' as const), side, range: rangeArbitrary }),
  fc.record({
    kind: fc.constant('writeExtents' as const),
    side,
    range: rangeArbitrary,
    pieces: fc.array(fc.tuple(fc.nat(12), fc.nat(12)), { maxLength: 5 }),
    seed: fc.nat(255),
  }),
  fc.record({
    kind: fc.constant('copy' as const),
    from: side,
    range: rangeArbitrary,
    targetStart: fc.nat(SIZE_SECTORS - 1),
  }),
  fc.record({ kind: fc.constant('clone' as const), from: side }),
  fc.record({
    kind: fc.constant('adopt' as const),
    from: side,
    chunk: fc.nat(Math.ceil(SIZE_SECTORS / CHUNK_SECTORS) - 1),
  }),
);

function apply(sides: [Side, Side], command: Command): void {
  switch (command.kind) {
    case 'write': {
      const { store, dense } = sides[command.side]!;
      const data = fillPattern(command.range.length, command.seed);
      store.write(command.range.start, data);
      dense.set(data, command.range.start * SECTOR);
      // The store copied the data: changing the caller's buffer changes nothing.
      data.fill(0xee);
      return;
    }
    case 'zero': {
      const { store, dense } = sides[command.side]!;
      store.zero(command.range.start, command.range.length);
      dense.fill(
        0,
        command.range.start * SECTOR,
        (command.range.start + command.range.length) * SECTOR,
      );
      return;
    }
    case 'writeExtents': {
      const { store, dense } = sides[command.side]!;
      const { start, length } = command.range;
      const extents = buildExtents(length, command.pieces, command.seed);
      store.writeExtents(start, length, extents);
      dense.fill(0, start * SECTOR, (start + length) * SECTOR);
      for (const extent of extents) dense.set(extent.data, (start + extent.sectorOffset) * SECTOR);
      return;
    }
    case 'copy': {
      const source = sides[command.from]!;
      const target = sides[1 - command.from]!;
      const length = Math.min(command.range.length, SIZE_SECTORS - command.targetStart);
      source.store.copyRangeTo(target.store, {
        sourceSector: command.range.start,
        targetSector: command.targetStart,
        sectorCount: length,
      });
      const bytes = source.dense.slice(
        command.range.start * SECTOR,
        (command.range.start + length) * SECTOR,
      );
      target.dense.set(bytes, command.targetStart * SECTOR);
      return;
    }
    case 'clone': {
      const source = sides[command.from]!;
      // The replaced store gives its chunks back, as a device's old images do at a crash.
      sides[1 - command.from]!.store.dispose();
      sides[1 - command.from] = { store: source.store.cloneShared(), dense: source.dense.slice() };
      return;
    }
    case 'adopt': {
      const source = sides[command.from]!;
      const target = sides[1 - command.from]!;
      target.store.adoptChunk(source.store, command.chunk);
      const from = command.chunk * CHUNK_SIZE_BYTES;
      const to = Math.min(from + CHUNK_SIZE_BYTES, SIZE_SECTORS * SECTOR);
      target.dense.set(source.dense.subarray(from, to), from);
      return;
    }
  }
}

/** The first sector offset where two dense ranges differ, or -1. */
function denseFirstDifference(
  left: Uint8Array,
  right: Uint8Array,
  a: number,
  b: number,
  n: number,
) {
  for (let offset = 0; offset < n; offset++) {
    for (let byte = 0; byte < SECTOR; byte++) {
      if (left[(a + offset) * SECTOR + byte] !== right[(b + offset) * SECTOR + byte]) return offset;
    }
  }
  return -1;
}

function checkExtents(store: SparseStore, dense: Uint8Array, range: RangeSpec): void {
  const extents = store.readExtents(range.start, range.length);
  const rebuilt = new Uint8Array(range.length * SECTOR);
  let previousEnd = 0;
  for (const extent of extents) {
    expect(extent.sectorOffset).toBeGreaterThanOrEqual(previousEnd);
    expect(extent.data.length % SECTOR).toBe(0);
    previousEnd = extent.sectorOffset + extent.data.length / SECTOR;
    expect(previousEnd).toBeLessThanOrEqual(range.length);
    rebuilt.set(extent.data, extent.sectorOffset * SECTOR);
  }
  expectBytes(rebuilt, dense.subarray(range.start * SECTOR, (range.start + range.length) * SECTOR));
  // Extents are copies: changing them does not change the store.
  for (const extent of extents) extent.data.fill(0xaa);
  expectBytes(
    store.read(range.start, range.length),
    dense.subarray(range.start * SECTOR, (range.start + range.length) * SECTOR),
  );
}

describe('SparseStore against a dense model', () => {
  it('reads, writes, zeroes, copies, compares and clones like a dense array (model)', () => {
    fc.assert(
      fc.property(
        fc.array(commandArbitrary, { maxLength: 40 }),
        rangeArbitrary,
        rangeArbitrary,
        (commands, probe, otherProbe) => {
          // One pool, as a device's images share one: chunks may be shared between the sides.
          const pool = new ChunkPool();
          const sides: [Side, Side] = [
            {
              store: new SparseStore(SIZE_SECTORS, pool),
              dense: new Uint8Array(SIZE_SECTORS * SECTOR),
            },
            {
              store: new SparseStore(SIZE_SECTORS, pool),
              dense: new Uint8Array(SIZE_SECTORS * SECTOR),
            },
          ];
          for (const command of commands) {
            apply(sides, command);
            // Copy-on-write isolation: after every step each store still matches its own model.
            for (const { store, dense } of sides) expectBytes(store.read(0, SIZE_SECTORS), dense);
            // Reference counting: every live chunk is held by a side, and shared ones count once.
            const counts = sides.map((side) => side.store.chunkCount);
            expect(pool.liveChunks).toBeLessThanOrEqual(counts[0]! + counts[1]!);
            expect(pool.liveChunks).toBeGreaterThanOrEqual(Math.max(counts[0]!, counts[1]!));
          }
          const [left, right] = sides;
          for (const { store, dense } of sides) {
            checkExtents(store, dense, probe);
            expect(store.chunkCount).toBe(store.chunkIndices().length);
            expect(store.allocatedBytes).toBe(store.chunkCount * CHUNK_SIZE_BYTES);
            const partial = new Uint8Array(probe.length * SECTOR + 3);
            store.readInto(probe.start, probe.length, partial, 3);
            expectBytes(
              partial.subarray(3),
              dense.subarray(probe.start * SECTOR, (probe.start + probe.length) * SECTOR),
            );
          }
          const length = Math.min(probe.length, SIZE_SECTORS - otherProbe.start);
          expect(
            left.store.firstDifference(right.store, {
              sector: probe.start,
              otherSector: otherProbe.start,
              sectorCount: length,
            }),
          ).toBe(
            denseFirstDifference(left.dense, right.dense, probe.start, otherProbe.start, length),
          );
          const equal = left.dense.every((byte, index) => byte === right.dense[index]);
          expect(left.store.equals(right.store)).toBe(equal);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a clone shares chunks until either side writes, then the sides are independent', () => {
    const original = new SparseStore(64);
    original.write(0, fillPattern(16, 1));
    const clone = original.cloneShared();
    expect(clone.chunkAt(0)).toBe(original.chunkAt(0));
    clone.write(3, fillPattern(1, 2));
    expect(clone.chunkAt(0)).not.toBe(original.chunkAt(0));
    expect(original.read(0, 16)).toEqual(fillPattern(16, 1));
    // Chunk 1 is still shared; the original writing it must not change the clone.
    expect(clone.chunkAt(1)).toBe(original.chunkAt(1));
    original.write(8, fillPattern(8, 3));
    expect(clone.read(8, 8)).toEqual(fillPattern(16, 1).subarray(8 * SECTOR));
    expect(original.read(8, 8)).toEqual(fillPattern(8, 3));
  });

  it('zeroing whole chunks frees them; zeroing part of a chunk keeps it', () => {
    const store = new SparseStore(64);
    store.write(0, fillPattern(24, 1));
    expect(store.chunkIndices()).toEqual([0, 1, 2]);
    store.zero(4, 12);
    expect(store.chunkIndices()).toEqual([0, 2]);
    expect(store.read(0, 4)).toEqual(fillPattern(24, 1).subarray(0, 4 * SECTOR));
    expect(store.read(4, 12)).toEqual(new Uint8Array(12 * SECTOR));
    expect(store.chunkIndicesIn(8, 8)).toEqual([]);
    expect(store.chunkIndicesIn(7, 10)).toEqual([0, 2]);
  });

  it('writes a part of a buffer given an offset and a count', () => {
    const store = new SparseStore(16);
    const data = fillPattern(4, 9);
    store.write(5, data, SECTOR, 2);
    expect(store.read(5, 2)).toEqual(data.subarray(SECTOR, 3 * SECTOR));
    expect(store.read(4, 1)).toEqual(new Uint8Array(SECTOR));
    expect(store.read(7, 1)).toEqual(new Uint8Array(SECTOR));
  });

  it('asserts on ranges outside the store and on partial sectors', () => {
    const store = new SparseStore(16);
    expect(() => store.read(15, 2)).toThrow(InvariantError);
    expect(() => store.write(16, new Uint8Array(SECTOR))).toThrow(InvariantError);
    expect(() => store.write(0, new Uint8Array(100))).toThrow(InvariantError);
    expect(() => store.zero(-1, 1)).toThrow(InvariantError);
    expect(() => new SparseStore(0)).toThrow(InvariantError);
    expect(() =>
      store.writeExtents(0, 4, [
        { sectorOffset: 2, data: new Uint8Array(SECTOR) },
        { sectorOffset: 1, data: new Uint8Array(SECTOR) },
      ]),
    ).toThrow(/out of order/);
    expect(() =>
      store.writeExtents(0, 4, [{ sectorOffset: 3, data: new Uint8Array(2 * SECTOR) }]),
    ).toThrow(/past its range/);
  });
});

describe('SparseStore is sparse-aware', () => {
  const PIB_SECTORS = 2 ** 50 / SECTOR;
  /** A few chunks scattered over 1 PiB, some near the ends. */
  const positions = [0, 8 * 12345, 2 ** 30 + 3, 2 ** 40 + 16, PIB_SECTORS - 8];

  function pibStore(seed: number): SparseStore {
    const store = new SparseStore(PIB_SECTORS);
    for (const [index, sector] of positions.entries())
      store.write(sector, fillPattern(1, seed + index));
    return store;
  }

  it('compares and copies whole 1 PiB stores in the time of what was written', {
    timeout: 5000,
  }, () => {
    const left = pibStore(1);
    const right = pibStore(1);
    const whole = { sector: 0, otherSector: 0, sectorCount: PIB_SECTORS };
    expect(left.firstDifference(right, whole)).toBe(-1);
    expect(left.equals(right)).toBe(true);

    right.write(2 ** 40 + 17, fillPattern(1, 77));
    expect(left.firstDifference(right, whole)).toBe(2 ** 40 + 17);
    expect(left.equals(right)).toBe(false);

    // Written on one side only (zeros on the other) counts as a difference too.
    const empty = new SparseStore(PIB_SECTORS);
    expect(left.firstDifference(empty, whole)).toBe(0);
    expect(
      left.firstDifference(empty, {
        ...whole,
        sector: 1,
        otherSector: 1,
        sectorCount: PIB_SECTORS - 1,
      }),
    ).toBe(8 * 12345 - 1);

    const target = new SparseStore(PIB_SECTORS);
    target.write(2 ** 35, fillPattern(1, 5));
    left.copyRangeTo(target, { sourceSector: 0, targetSector: 0, sectorCount: PIB_SECTORS });
    expect(target.equals(left)).toBe(true);
    // The copy replaced the whole range, so the target's own data there is gone.
    expect(target.read(2 ** 35, 1)).toEqual(new Uint8Array(SECTOR));
    expect(target.chunkCount).toBe(positions.length);

    const extents = left.readExtents(0, PIB_SECTORS);
    // Extents are whole written chunks clipped to the range.
    expect(extents.map((extent) => extent.sectorOffset)).toEqual(
      positions.map((sector) => sector - (sector % CHUNK_SECTORS)),
    );

    left.zero(0, PIB_SECTORS);
    expect(left.chunkCount).toBe(0);
    expect(left.read(PIB_SECTORS - 1, 1)).toEqual(new Uint8Array(SECTOR));
  });

  it('compares offset ranges of 1 PiB stores without visiting unwritten chunks', {
    timeout: 5000,
  }, () => {
    const left = new SparseStore(PIB_SECTORS);
    const right = new SparseStore(PIB_SECTORS);
    left.write(2 ** 40, fillPattern(1, 3));
    right.write(2 ** 40 - 5, fillPattern(1, 3));
    const sectorCount = PIB_SECTORS - 2 ** 39;
    expect(
      left.firstDifference(right, { sector: 2 ** 39, otherSector: 2 ** 39 - 5, sectorCount }),
    ).toBe(-1);
    expect(
      left.firstDifference(right, { sector: 2 ** 39, otherSector: 2 ** 39, sectorCount }),
    ).toBe(2 ** 39 - 5);
  });

  it('memory grows with data written, not with the size', () => {
    const store = new SparseStore(PIB_SECTORS);
    expect(store.allocatedBytes).toBe(0);
    store.write(2 ** 41 - 8, fillPattern(8, 1));
    store.write(2 ** 20, fillPattern(1, 1));
    expect(store.allocatedBytes).toBe(2 * CHUNK_SIZE_BYTES);
    expect(store.read(12345, 1)).toEqual(new Uint8Array(SECTOR));
  });
});
