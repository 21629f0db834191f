import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/assert.js';
import {
  CHUNK_BYTES,
  ChunkPool,
  FIRST_SLAB_CHUNKS,
  SLAB_CHUNKS,
} from '../../src/block/chunk-pool.js';
import { SparseStore } from '../../src/block/sparse-store.js';

describe('ChunkPool', () => {
  it('hands out zeroed chunks, reuses freed ones zeroed again, and carves slabs lazily', () => {
    const pool = new ChunkPool();
    expect(pool.slabBytes).toBe(0);
    const first = pool.alloc();
    pool.view(first).fill(7);
    expect(pool.liveChunks).toBe(1);
    expect(pool.slabBytes).toBe(FIRST_SLAB_CHUNKS * CHUNK_BYTES);
    pool.release(first);
    expect(pool.liveChunks).toBe(0);
    const again = pool.alloc();
    expect(again).toBe(first);
    expect(pool.view(again).every((byte) => byte === 0)).toBe(true);
    for (let index = 1; index < FIRST_SLAB_CHUNKS; index++) pool.alloc();
    expect(pool.slabBytes).toBe(FIRST_SLAB_CHUNKS * CHUNK_BYTES);
    pool.alloc();
    expect(pool.slabBytes).toBe(3 * FIRST_SLAB_CHUNKS * CHUNK_BYTES);
  });

  it('doubles its slabs up to 1 MiB, then adds 1 MiB at a time; every chunk its own 4 KiB', () => {
    const pool = new ChunkPool();
    const handles = Array.from({ length: 1000 }, () => pool.alloc());
    // 16 + 32 + 64 + 128 + 256 + 256 + 256 chunks cover 1000.
    expect(pool.slabBytes).toBe((16 + 32 + 64 + 128 + 256 * 3) * CHUNK_BYTES);
    for (const [index, handle] of handles.entries()) {
      expect(pool.view(handle).length).toBe(CHUNK_BYTES);
      pool.view(handle)[0] = index & 0xff;
    }
    expect(handles.every((handle, index) => pool.view(handle)[0] === (index & 0xff))).toBe(true);
    expect(SLAB_CHUNKS * CHUNK_BYTES).toBe(1024 * 1024);
  });

  it('frees a chunk only when its last reference goes, and refuses use after free', () => {
    const pool = new ChunkPool();
    const handle = pool.alloc();
    pool.retain(handle);
    expect(pool.referencesOf(handle)).toBe(2);
    pool.release(handle);
    expect(pool.liveChunks).toBe(1);
    pool.release(handle);
    expect(pool.liveChunks).toBe(0);
    expect(() => pool.release(handle)).toThrow(InvariantError);
    expect(() => pool.retain(handle)).toThrow(InvariantError);
  });

  it('keeps live chunk counts exact under any mix of allocations, shares and releases (model)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('alloc', 'retain', 'release'), fc.nat()), {
          maxLength: 600,
        }),
        (steps) => {
          const pool = new ChunkPool();
          const references = new Map<number, number>();
          for (const [step, pick] of steps) {
            const live = [...references.keys()];
            if (step === 'alloc' || live.length === 0) {
              const handle = pool.alloc();
              expect(references.has(handle)).toBe(false);
              references.set(handle, 1);
              pool.view(handle).fill(handle & 0xff);
              continue;
            }
            const handle = live[pick % live.length]!;
            if (step === 'retain') {
              pool.retain(handle);
              references.set(handle, references.get(handle)! + 1);
            } else {
              pool.release(handle);
              const left = references.get(handle)! - 1;
              if (left === 0) references.delete(handle);
              else references.set(handle, left);
            }
            expect(pool.liveChunks).toBe(references.size);
          }
          // A chunk still referenced keeps its content: nobody else was handed it.
          for (const handle of references.keys()) {
            expect(pool.view(handle).every((byte) => byte === (handle & 0xff))).toBe(true);
            expect(pool.referencesOf(handle)).toBe(references.get(handle));
          }
        },
      ),
    );
  });

  it('a store returns its chunks on dispose, a clone holds shared ones, and a disposed store refuses use', () => {
    const pool = new ChunkPool();
    const store = new SparseStore(1024, pool);
    store.write(0, new Uint8Array(4096).fill(1));
    store.write(64, new Uint8Array(512).fill(2));
    const clone = store.cloneShared();
    expect(pool.liveChunks).toBe(2);
    clone.write(0, new Uint8Array(512).fill(3)); // copy on write: a third chunk
    expect(pool.liveChunks).toBe(3);
    store.dispose();
    expect(pool.liveChunks).toBe(2);
    expect(clone.read(0, 1)[0]).toBe(3);
    expect(clone.read(1, 1)[0]).toBe(1);
    expect(() => store.read(0, 1)).toThrow(InvariantError);
    clone.dispose();
    expect(pool.liveChunks).toBe(0);
  });
});
