/** Short-lived buffers carved from shared slabs (a performance-only allocator). */
import { describe, expect, it } from 'vitest';
import { ByteSlab, SLAB_BYTES, SLAB_PIECE_BYTES_MAX } from '../../src/block/byte-slab.js';
import { invariantMessage } from '../assert-test-kit.js';

describe('ByteSlab', () => {
  it('hands out zeroed, disjoint, 8-byte aligned pieces of one slab', () => {
    const slab = new ByteSlab();
    const first = slab.alloc(5);
    const second = slab.alloc(4096);
    expect(first.buffer).toBe(second.buffer);
    expect(second.byteOffset).toBe(first.byteOffset + 8);
    expect(second.every((byte) => byte === 0)).toBe(true);
    second.fill(7);
    expect(first.every((byte) => byte === 0)).toBe(true);
  });

  it('copies into memory the original does not share', () => {
    const slab = new ByteSlab();
    const data = Uint8Array.of(1, 2, 3);
    const copy = slab.copy(data);
    data[0] = 9;
    expect([...copy]).toEqual([1, 2, 3]);
    expect(copy.buffer).not.toBe(data.buffer);
  });

  it('starts a new slab when one is full, and gives large buffers their own memory', () => {
    const slab = new ByteSlab();
    const pieces = Array.from({ length: SLAB_BYTES / SLAB_PIECE_BYTES_MAX + 1 }, () =>
      slab.alloc(SLAB_PIECE_BYTES_MAX),
    );
    expect(pieces.at(-1)!.buffer).not.toBe(pieces[0]!.buffer);
    const large = slab.alloc(SLAB_PIECE_BYTES_MAX + 1);
    expect(large.byteLength).toBe(large.buffer.byteLength);
    expect(invariantMessage(() => slab.alloc(-1))).toBe('slab piece of -1 bytes');
  });
});
