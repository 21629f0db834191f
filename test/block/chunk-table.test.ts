import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/assert.js';
import { ChunkTable, NO_CHUNK } from '../../src/block/chunk-table.js';

const KEY_MAX = 2 ** 41;

type Operation =
  | { readonly kind: 'set'; readonly keyIndex: number; readonly handle: number }
  | { readonly kind: 'delete'; readonly keyIndex: number }
  | { readonly kind: 'clone' };

const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      keyIndex: fc.nat(),
      handle: fc.nat(1_000_000),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), keyIndex: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clone' as const) }) },
);

describe('ChunkTable', () => {
  it('behaves like a Map for any inserts, deletes, clones and growth with keys up to 2^41 (model)', () => {
    fc.assert(
      fc.property(
        // A pool of keys makes deletes and overwrites hit present keys; small keys collide often.
        fc.uniqueArray(fc.oneof(fc.nat(64), fc.integer({ min: 0, max: KEY_MAX })), {
          minLength: 1,
          maxLength: 120,
        }),
        fc.array(operationArbitrary, { maxLength: 400 }),
        fc.integer({ min: 1, max: 100 }),
        (keys, operations, capacityInitial) => {
          let table = new ChunkTable(capacityInitial);
          const model = new Map<number, number>();
          for (const operation of operations) {
            if (operation.kind === 'clone') {
              const copy = table.clone();
              // The copy is independent: changing the original afterwards leaves it as it was.
              table.set(keys[0]!, 123_456_789);
              expect(copy.get(keys[0]!)).toBe(model.get(keys[0]!) ?? NO_CHUNK);
              table = copy;
              continue;
            }
            const key = keys[operation.keyIndex % keys.length]!;
            if (operation.kind === 'set') {
              expect(table.set(key, operation.handle)).toBe(model.get(key) ?? NO_CHUNK);
              model.set(key, operation.handle);
            } else {
              expect(table.delete(key)).toBe(model.get(key) ?? NO_CHUNK);
              model.delete(key);
            }
            expect(table.size).toBe(model.size);
          }
          for (const key of keys) expect(table.get(key)).toBe(model.get(key) ?? NO_CHUNK);
          const listed = table.keyList().sort((left, right) => left - right);
          expect(listed).toEqual([...model.keys()].sort((left, right) => left - right));
          const visited = new Map<number, number>();
          table.forEach((key, handle) => {
            visited.set(key, handle);
          });
          expect(visited).toEqual(model);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('grows past its initial capacity and keeps every entry', () => {
    const table = new ChunkTable(16);
    const handles = new Map<number, number>();
    for (let index = 0; index < 5000; index++) {
      const key = (index * 2_654_435_761) % KEY_MAX;
      handles.set(key, index);
      table.set(key, index);
    }
    expect(table.size).toBe(handles.size);
    for (const [key, handle] of handles) expect(table.get(key)).toBe(handle);
    expect(table.get(KEY_MAX - 1)).toBe(NO_CHUNK);
  });

  it('deletes from the middle of probe chains without losing the entries after them', () => {
    // Keys that are multiples of a large power of two often share a home slot.
    const table = new ChunkTable(16);
    const keys = Array.from({ length: 9 }, (_, index) => index * 2 ** 36);
    for (const key of keys) table.set(key, key / 2 ** 36);
    for (const victim of [keys[0]!, keys[4]!, keys[8]!]) {
      expect(table.delete(victim)).toBe(victim / 2 ** 36);
      expect(table.delete(victim)).toBe(NO_CHUNK);
      expect(table.get(victim)).toBe(NO_CHUNK);
    }
    for (const key of keys.filter((_, index) => index % 4 !== 0)) {
      expect(table.get(key)).toBe(key / 2 ** 36);
    }
    expect(table.size).toBe(6);
  });

  it('overwriting a key keeps its count and returns the handle it replaced', () => {
    const table = new ChunkTable();
    expect(table.set(7, 1)).toBe(NO_CHUNK);
    expect(table.set(7, 2)).toBe(1);
    expect(table.size).toBe(1);
    expect(table.get(7)).toBe(2);
    table.clear();
    expect(table.size).toBe(0);
    expect(table.get(7)).toBe(NO_CHUNK);
  });

  it('rejects keys that are negative or not safe integers, and negative handles', () => {
    const table = new ChunkTable();
    expect(() => table.set(-1, 0)).toThrow(InvariantError);
    expect(() => table.set(1.5, 0)).toThrow(InvariantError);
    expect(() => table.set(2 ** 53, 0)).toThrow(InvariantError);
    expect(() => table.set(1, -1)).toThrow(InvariantError);
    expect(table.size).toBe(0);
  });
});
