/**
 * Where sparse stores keep their 4 KiB chunks: 1 MiB slabs carved into
 * chunk views, with a reference count per chunk. A separate ArrayBuffer per
 * chunk costs about 550 bytes of resident memory on top of its 4 KiB; a
 * view into a slab costs nothing more, which is what keeps a 16 TiB mirror
 * after 100 MiB of writes near the data it holds.
 *
 * Reference counts make copy-on-write exact: stores that share a chunk (a
 * device's durable and visible images, a crash image) copy it only while
 * another store still refers to it, and a chunk no store refers to returns
 * to the pool. Freed chunks are reused (zeroed first); slabs are never given
 * back, so a pool's memory is its high-water mark.
 */
import { assert } from '../assert.js';

export const CHUNK_BYTES = 4096;
/** Chunks per slab: 256 × 4 KiB = 1 MiB. */
export const SLAB_CHUNKS = 256;
/** The most stores that may share one chunk. */
const REFERENCES_MAX = 0xffff;

/** A chunk handle: an index into the pool, valid while its reference count is above zero. */
export type ChunkHandle = number;

export class ChunkPool {
  private readonly views: Uint8Array[] = [];
  private references = new Uint16Array(SLAB_CHUNKS);
  private readonly freeHandles: ChunkHandle[] = [];
  private carved = 0;
  private live = 0;

  /** Chunks some store refers to. */
  get liveChunks(): number {
    return this.live;
  }

  /** Bytes of slabs allocated (the pool's high-water mark). */
  get slabBytes(): number {
    return this.views.length * CHUNK_BYTES;
  }

  /** A zeroed chunk with one reference. */
  alloc(): ChunkHandle {
    let handle = this.freeHandles.pop();
    if (handle === undefined) {
      if (this.carved === this.views.length) this.addSlab();
      handle = this.carved++;
    } else {
      this.views[handle]!.fill(0);
    }
    assert(this.references[handle] === 0, `chunk ${handle} allocated while still referenced`);
    this.references[handle] = 1;
    this.live++;
    return handle;
  }

  /** The chunk's bytes; change them only while {@link references} is 1. */
  view(handle: ChunkHandle): Uint8Array {
    return this.views[handle]!;
  }

  referencesOf(handle: ChunkHandle): number {
    return this.references[handle]!;
  }

  retain(handle: ChunkHandle): void {
    const count = this.references[handle]!;
    assert(count > 0, `chunk ${handle} retained after it was freed`);
    assert(count < REFERENCES_MAX, `chunk ${handle} is shared by too many stores`);
    this.references[handle] = count + 1;
  }

  release(handle: ChunkHandle): void {
    const count = this.references[handle]!;
    assert(count > 0, `chunk ${handle} released after it was freed`);
    this.references[handle] = count - 1;
    if (count === 1) {
      this.freeHandles.push(handle);
      this.live--;
    }
  }

  private addSlab(): void {
    const slab = new Uint8Array(SLAB_CHUNKS * CHUNK_BYTES);
    for (let index = 0; index < SLAB_CHUNKS; index++) {
      this.views.push(slab.subarray(index * CHUNK_BYTES, (index + 1) * CHUNK_BYTES));
    }
    if (this.references.length < this.views.length) {
      const grown = new Uint16Array(this.references.length * 2);
      grown.set(this.references);
      this.references = grown;
    }
  }
}
