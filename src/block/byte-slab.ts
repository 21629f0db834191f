/**
 * Short-lived byte buffers carved from 1 MiB slabs. Allocating an
 * ArrayBuffer is costly in V8 (a backing store, zeroing, external-memory
 * accounting that triggers full garbage collections); a view into a slab
 * costs an object. Small copies that live about as long as each other — a
 * device's cached write data, a request payload — come from here. A slab
 * is freed by the garbage collector once no view into it is alive, so a
 * long-lived view pins its whole slab: buffers above
 * {@link SLAB_PIECE_BYTES_MAX} get an ArrayBuffer of their own.
 *
 * @example
 * ```ts
 * const copy = defaultByteSlab.copy(data); // an independent copy of data
 * ```
 */
import { assert } from '../assert.js';

/** Bytes per slab. */
export const SLAB_BYTES = 1024 * 1024;
/** Longer buffers are allocated on their own. */
export const SLAB_PIECE_BYTES_MAX = 64 * 1024;
/** Pieces start at multiples of 8 bytes, so word views over them are aligned. */
const ALIGNMENT_BYTES = 8;

/** A bump allocator over 1 MiB slabs (see the file comment). */
export class ByteSlab {
  private slab = new Uint8Array(0);
  private used = 0;

  /** A zeroed buffer of `length` bytes, independent of every other. */
  alloc(length: number): Uint8Array {
    assert(Number.isSafeInteger(length) && length >= 0, `slab piece of ${length} bytes`);
    if (length > SLAB_PIECE_BYTES_MAX) return new Uint8Array(length);
    if (this.used + length > this.slab.length) {
      this.slab = new Uint8Array(SLAB_BYTES);
      this.used = 0;
    }
    const piece = this.slab.subarray(this.used, this.used + length);
    this.used += Math.ceil(length / ALIGNMENT_BYTES) * ALIGNMENT_BYTES;
    return piece;
  }

  /** A copy of `data` that shares no memory with it. */
  copy(data: Uint8Array): Uint8Array {
    const piece = this.alloc(data.length);
    piece.set(data);
    return piece;
  }
}

/** The slab the simulated devices copy cached write data into. */
export const defaultByteSlab = new ByteSlab();
