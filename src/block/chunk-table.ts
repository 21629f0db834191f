/**
 * An open-addressing hash table from chunk index (an integer up to 2^41) to
 * chunk handle. It exists because a JavaScript Map boxes keys above 2^30 and
 * allocates on every lookup; this table stores keys in a Float64Array and
 * handles in an Int32Array, and never allocates on `get`.
 */
import { assert, InvariantError } from '../assert.js';
import type { ChunkHandle } from './chunk-pool.js';

const EMPTY_KEY = -1;
/** What {@link ChunkTable.get} returns for an absent key. */
export const NO_CHUNK = -1;
const LOAD_FACTOR_MAX = 0.6;

export class ChunkTable {
  private keys: Float64Array;
  private handles: Int32Array;
  private mask: number;
  private count = 0;

  constructor(capacityInitial = 64) {
    let capacity = 16;
    while (capacity < capacityInitial) capacity *= 2;
    this.keys = new Float64Array(capacity).fill(EMPTY_KEY);
    this.handles = new Int32Array(capacity).fill(NO_CHUNK);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  /** The handle stored at `key`, or {@link NO_CHUNK}. */
  get(key: number): ChunkHandle {
    let slot = this.slotOf(key);
    for (;;) {
      const found = this.keys[slot]!;
      if (found === key) return this.handles[slot]!;
      if (found === EMPTY_KEY) return NO_CHUNK;
      slot = (slot + 1) & this.mask;
    }
  }

  /** Stores `handle` at `key`; returns the handle it replaced, or {@link NO_CHUNK}. */
  set(key: number, handle: ChunkHandle): ChunkHandle {
    if (!Number.isSafeInteger(key) || key < 0) {
      throw new InvariantError(`chunk key ${key} is not an integer ≥ 0`);
    }
    assert(handle >= 0, `chunk handle ${handle} is not ≥ 0`);
    if ((this.count + 1) / this.keys.length > LOAD_FACTOR_MAX) this.grow();
    let slot = this.slotOf(key);
    for (;;) {
      const found = this.keys[slot]!;
      if (found === key) break;
      if (found === EMPTY_KEY) {
        this.keys[slot] = key;
        this.count++;
        break;
      }
      slot = (slot + 1) & this.mask;
    }
    const previous = this.handles[slot]!;
    this.handles[slot] = handle;
    return previous;
  }

  /** Removes `key`; returns its handle, or {@link NO_CHUNK} if it was absent. */
  delete(key: number): ChunkHandle {
    let slot = this.find(key);
    if (slot < 0) return NO_CHUNK;
    const removed = this.handles[slot]!;
    // Backward-shift deletion keeps probe chains intact without tombstones.
    let next = (slot + 1) & this.mask;
    for (;;) {
      const nextKey = this.keys[next]!;
      if (nextKey === EMPTY_KEY) break;
      const home = this.slotOf(nextKey);
      const distanceNext = (next - home) & this.mask;
      const distanceHole = (next - slot) & this.mask;
      if (distanceNext >= distanceHole) {
        this.keys[slot] = nextKey;
        this.handles[slot] = this.handles[next]!;
        slot = next;
      }
      next = (next + 1) & this.mask;
    }
    this.keys[slot] = EMPTY_KEY;
    this.handles[slot] = NO_CHUNK;
    this.count--;
    return removed;
  }

  /** Every key, in table order (not sorted). */
  keyList(): number[] {
    const result: number[] = [];
    for (let slot = 0; slot < this.keys.length; slot++) {
      const key = this.keys[slot]!;
      if (key !== EMPTY_KEY) result.push(key);
    }
    assert(result.length === this.count, 'chunk table count disagrees with its slots');
    return result;
  }

  /** Calls `visit` for every (key, handle), in table order. */
  forEach(visit: (key: number, handle: ChunkHandle) => void): void {
    for (let slot = 0; slot < this.keys.length; slot++) {
      const key = this.keys[slot]!;
      if (key !== EMPTY_KEY) visit(key, this.handles[slot]!);
    }
  }

  /** An identical table (same keys, same handles). */
  clone(): ChunkTable {
    const copy = new ChunkTable(16);
    copy.keys = this.keys.slice();
    copy.handles = this.handles.slice();
    copy.mask = this.mask;
    copy.count = this.count;
    return copy;
  }

  /** Empties the table. */
  clear(): void {
    this.keys.fill(EMPTY_KEY);
    this.handles.fill(NO_CHUNK);
    this.count = 0;
  }

  private find(key: number): number {
    let slot = this.slotOf(key);
    for (;;) {
      const found = this.keys[slot]!;
      if (found === key) return slot;
      if (found === EMPTY_KEY) return -1;
      slot = (slot + 1) & this.mask;
    }
  }

  private slotOf(key: number): number {
    const low = key >>> 0;
    const high = (key / 0x1_0000_0000) >>> 0;
    let hash = Math.imul(low ^ Math.imul(high, 0x9e3779b1), 0x85ebca6b);
    hash ^= hash >>> 15;
    hash = Math.imul(hash, 0xc2b2ae35);
    hash ^= hash >>> 13;
    return hash & this.mask;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldHandles = this.handles;
    const capacity = oldKeys.length * 2;
    this.keys = new Float64Array(capacity).fill(EMPTY_KEY);
    this.handles = new Int32Array(capacity).fill(NO_CHUNK);
    this.mask = capacity - 1;
    this.count = 0;
    for (let slot = 0; slot < oldKeys.length; slot++) {
      const key = oldKeys[slot]!;
      if (key !== EMPTY_KEY) this.set(key, oldHandles[slot]!);
    }
  }
}
