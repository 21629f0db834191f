/**
 * Where sparse stores keep their 4 KiB chunks: slabs carved into chunk
 * views, with a reference count per chunk. A separate ArrayBuffer per
 * chunk costs about 550 bytes of resident memory on top of its 4 KiB; a
 * view into a slab costs nothing more, which is what keeps a 16 TiB mirror
 * after 100 MiB of writes near the data it holds. Slabs start small and
 * double up to 1 MiB, so the many small devices of a fuzz campaign (a few
 * per seed, each holding a few chunks) do not each allocate and zero a
 * megabyte; a view is made when its chunk is first handed out.
 *
 * Reference counts make copy-on-write exact: stores that share a chunk (a
 * device's durable and visible images, a crash image) copy it only while
 * another store still refers to it, and a chunk no store refers to returns
 * to the pool. Freed chunks are reused (zeroed first); slabs are never given
 * back, so a pool's memory is its high-water mark.
 */
import { assert } from '../assert.js';

export const CHUNK_BYTES = 4096;
/** Chunks of the largest slab: 256 × 4 KiB = 1 MiB. */
export const SLAB_CHUNKS = 256;
/** Chunks of a pool's first slab (64 KiB); each next slab doubles, up to {@link SLAB_CHUNKS}. */
export const FIRST_SLAB_CHUNKS = 16;
/** The most stores that may share one chunk. */
const REFERENCES_MAX = 0xffff;

/** A chunk handle: an index into the pool, valid while its reference count is above zero. */
export type ChunkHandle = number;

export class ChunkPool {
  private readonly views: Uint8Array[] = [];
  private references = new Uint16Array(FIRST_SLAB_CHUNKS);
  private readonly freeHandles: ChunkHandle[] = [];
  private live = 0;
  /** The slab chunks are carved from, its chunks, and how many are carved. */
  private slab: Uint8Array | null = null;
  private slabChunks = 0;
  private slabCarved = 0;
  private slabBytesTotal = 0;

  /** Chunks some store refers to. */
  get liveChunks(): number {
    return this.live;
  }

  /** Bytes of slabs allocated (the pool's high-water mark). */
  get slabBytes(): number {
    return this.slabBytesTotal;
  }

  /** A zeroed chunk with one reference. */
  alloc(): ChunkHandle {
    let handle = this.freeHandles.pop();
    if (handle === undefined) {
      handle = this.carve();
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

  /** A new chunk from the current slab (a new, bigger slab when it is used up). */
  private carve(): ChunkHandle {
    if (this.slab === null || this.slabCarved === this.slabChunks) {
      this.slabChunks = Math.min(SLAB_CHUNKS, Math.max(FIRST_SLAB_CHUNKS, this.slabChunks * 2));
      this.slab = new Uint8Array(this.slabChunks * CHUNK_BYTES);
      this.slabCarved = 0;
      this.slabBytesTotal += this.slab.length;
    }
    const offset = this.slabCarved * CHUNK_BYTES;
    this.slabCarved++;
    const handle = this.views.length;
    this.views.push(this.slab.subarray(offset, offset + CHUNK_BYTES));
    if (this.references.length <= handle) {
      const grown = new Uint16Array(this.references.length * 2);
      grown.set(this.references);
      this.references = grown;
    }
    return handle;
  }
}
