/**
 * An open-addressing hash table from chunk index (an integer up to 2^41) to
 * chunk buffer. It exists because a JavaScript Map boxes keys above 2^30 and
 * allocates on every lookup; this table stores keys in a Float64Array and
 * never allocates on `get`.
 */
import { assert, InvariantError } from '../assert.js';

const EMPTY_KEY = -1;
const LOAD_FACTOR_MAX = 0.6;

export class ChunkTable {
  private keys: Float64Array;
  private values: (Uint8Array | undefined)[];
  /** 1 where the value is shared with another table and must be copied before it is changed. */
  private shared: Uint8Array;
  private mask: number;
  private count = 0;

  constructor(capacityInitial = 64) {
    let capacity = 16;
    while (capacity < capacityInitial) capacity *= 2;
    this.keys = new Float64Array(capacity).fill(EMPTY_KEY);
    this.values = new Array<Uint8Array | undefined>(capacity).fill(undefined);
    this.shared = new Uint8Array(capacity);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  get(key: number): Uint8Array | undefined {
    let slot = this.slotOf(key);
    for (;;) {
      const found = this.keys[slot]!;
      if (found === key) return this.values[slot];
      if (found === EMPTY_KEY) return undefined;
      slot = (slot + 1) & this.mask;
    }
  }

  /** Whether the chunk at `key` is shared with another table (copy before writing). */
  isShared(key: number): boolean {
    const slot = this.find(key);
    return slot >= 0 && this.shared[slot] === 1;
  }

  /** The value at `key` if this table may change it in place (present and not shared). */
  getOwned(key: number): Uint8Array | undefined {
    let slot = this.slotOf(key);
    for (;;) {
      const found = this.keys[slot]!;
      if (found === key) return this.shared[slot] === 1 ? undefined : this.values[slot];
      if (found === EMPTY_KEY) return undefined;
      slot = (slot + 1) & this.mask;
    }
  }

  set(key: number, value: Uint8Array, isShared: boolean): void {
    // The message is built only on failure: this runs for every new chunk.
    if (!Number.isSafeInteger(key) || key < 0) {
      throw new InvariantError(`chunk key ${key} is not an integer ≥ 0`);
    }
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
    this.values[slot] = value;
    this.shared[slot] = isShared ? 1 : 0;
  }

  delete(key: number): boolean {
    let slot = this.find(key);
    if (slot < 0) return false;
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
        this.values[slot] = this.values[next];
        this.shared[slot] = this.shared[next]!;
        slot = next;
      }
      next = (next + 1) & this.mask;
    }
    this.keys[slot] = EMPTY_KEY;
    this.values[slot] = undefined;
    this.shared[slot] = 0;
    this.count--;
    return true;
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

  /** Marks every value shared, for a copy-on-write clone. */
  markAllShared(): void {
    for (let slot = 0; slot < this.keys.length; slot++) {
      if (this.keys[slot] !== EMPTY_KEY) this.shared[slot] = 1;
    }
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
    const oldValues = this.values;
    const oldShared = this.shared;
    const capacity = oldKeys.length * 2;
    this.keys = new Float64Array(capacity).fill(EMPTY_KEY);
    this.values = new Array<Uint8Array | undefined>(capacity).fill(undefined);
    this.shared = new Uint8Array(capacity);
    this.mask = capacity - 1;
    this.count = 0;
    for (let slot = 0; slot < oldKeys.length; slot++) {
      const key = oldKeys[slot]!;
      if (key !== EMPTY_KEY) this.set(key, oldValues[slot]!, oldShared[slot] === 1);
    }
  }
}
