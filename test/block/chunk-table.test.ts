import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/assert.js';
import { ChunkTable } from '../../src/block/chunk-table.js';

const KEY_MAX = 2 ** 41;

type Operation =
  | { readonly kind: 'set'; readonly keyIndex: number; readonly shared: boolean }
  | { readonly kind: 'delete'; readonly keyIndex: number }
  | { readonly kind: 'markAllShared' };

const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      keyIndex: fc.nat(),
      shared: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), keyIndex: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('markAllShared' as const) }) },
);

describe('ChunkTable', () => {
  it('behaves like a Map for any inserts, deletes and growth with keys up to 2^41 (model)', () => {
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
          const table = new ChunkTable(capacityInitial);
          const model = new Map<number, { value: Uint8Array; shared: boolean }>();
          for (const operation of operations) {
            if (operation.kind === 'markAllShared') {
              table.markAllShared();
              for (const entry of model.values()) entry.shared = true;
              continue;
            }
            const key = keys[operation.keyIndex % keys.length]!;
            if (operation.kind === 'set') {
              const value = new Uint8Array(1);
              table.set(key, value, operation.shared);
              model.set(key, { value, shared: operation.shared });
            } else {
              expect(table.delete(key)).toBe(model.delete(key));
            }
            expect(table.size).toBe(model.size);
          }
          for (const key of keys) {
            const entry = model.get(key);
            expect(table.get(key)).toBe(entry?.value);
            expect(table.isShared(key)).toBe(entry?.shared ?? false);
            // Only a present, unshared chunk may be changed in place.
            expect(table.getOwned(key)).toBe(entry?.shared === false ? entry.value : undefined);
          }
          const listed = table.keyList().sort((left, right) => left - right);
          expect(listed).toEqual([...model.keys()].sort((left, right) => left - right));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('grows past its initial capacity and keeps every entry', () => {
    const table = new ChunkTable(16);
    const values = new Map<number, Uint8Array>();
    for (let index = 0; index < 5000; index++) {
      const key = (index * 2_654_435_761) % KEY_MAX;
      const value = new Uint8Array([index & 0xff]);
      values.set(key, value);
      table.set(key, value, false);
    }
    expect(table.size).toBe(values.size);
    for (const [key, value] of values) expect(table.get(key)).toBe(value);
    expect(table.get(KEY_MAX - 1)).toBeUndefined();
  });

  it('deletes from the middle of probe chains without losing the entries after them', () => {
    // Keys that are multiples of a large power of two often share a home slot.
    const table = new ChunkTable(16);
    const keys = Array.from({ length: 9 }, (_, index) => index * 2 ** 36);
    for (const key of keys) table.set(key, new Uint8Array([key / 2 ** 36]), false);
    for (const victim of [keys[0]!, keys[4]!, keys[8]!]) {
      expect(table.delete(victim)).toBe(true);
      expect(table.delete(victim)).toBe(false);
      expect(table.get(victim)).toBeUndefined();
    }
    for (const key of keys.filter((_, index) => index % 4 !== 0)) {
      expect(table.get(key)![0]).toBe(key / 2 ** 36);
    }
    expect(table.size).toBe(6);
  });

  it('overwriting a key keeps its count and replaces the value and shared flag', () => {
    const table = new ChunkTable();
    const first = new Uint8Array(1);
    const second = new Uint8Array(1);
    table.set(7, first, true);
    table.set(7, second, false);
    expect(table.size).toBe(1);
    expect(table.get(7)).toBe(second);
    expect(table.isShared(7)).toBe(false);
    expect(table.isShared(8)).toBe(false);
  });

  it('rejects keys that are negative or not safe integers', () => {
    const table = new ChunkTable();
    expect(() => table.set(-1, new Uint8Array(1), false)).toThrow(InvariantError);
    expect(() => table.set(1.5, new Uint8Array(1), false)).toThrow(InvariantError);
    expect(() => table.set(2 ** 53, new Uint8Array(1), false)).toThrow(InvariantError);
    expect(table.size).toBe(0);
  });
});
