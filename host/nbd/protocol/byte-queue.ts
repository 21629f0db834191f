/**
 * The bytes a peer has sent and the parser has not consumed yet. A stream
 * socket delivers frames split or merged at any boundary (reference nbd.md
 * §5.8), so the parsers read from here, never from one `data` chunk: they
 * peek at header fields, and take or skip bytes once a whole field (or a
 * useful part of a payload) is present. Chunks are kept as they came and
 * copied only when a caller takes bytes out.
 *
 * @example
 * ```ts
 * const queue = new ByteQueue();
 * queue.push(Uint8Array.of(0x25, 0x60));
 * queue.push(Uint8Array.of(0x95, 0x13));
 * queue.peekUint32(0); // 0x25609513
 * ```
 */
import { assert } from '../../../src/assert.js';

/** Bytes received and not yet consumed (see the file comment). */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  /** Bytes of `chunks[0]` already consumed. */
  private headOffset = 0;
  private byteCount = 0;

  /** Bytes waiting. */
  get length(): number {
    return this.byteCount;
  }

  /** Appends what the peer sent. The queue keeps a reference: the caller must not reuse `chunk`. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.byteCount += chunk.length;
  }

  /** The byte at `offset` from the front. */
  peekByte(offset: number): number {
    assert(offset >= 0 && offset < this.byteCount, `peek at ${offset} past ${this.byteCount}`);
    let position = this.headOffset + offset;
    for (const chunk of this.chunks) {
      if (position < chunk.length) return chunk[position]!;
      position -= chunk.length;
    }
    assert(false, 'byte count disagrees with the chunks');
  }

  /** The big-endian u16 at `offset` from the front. */
  peekUint16(offset: number): number {
    const head = this.chunks[0];
    const at = this.headOffset + offset;
    if (head !== undefined && at + 2 <= head.length) return (head[at]! << 8) | head[at + 1]!;
    return (this.peekByte(offset) << 8) | this.peekByte(offset + 1);
  }

  /** The big-endian u32 at `offset` from the front. */
  peekUint32(offset: number): number {
    const head = this.chunks[0];
    const at = this.headOffset + offset;
    if (head !== undefined && at + 4 <= head.length) {
      return (
        ((head[at]! << 24) | (head[at + 1]! << 16) | (head[at + 2]! << 8) | head[at + 3]!) >>> 0
      );
    }
    return (
      ((this.peekByte(offset) << 24) |
        (this.peekByte(offset + 1) << 16) |
        (this.peekByte(offset + 2) << 8) |
        this.peekByte(offset + 3)) >>>
      0
    );
  }

  /** Removes `count` bytes from the front and returns them in a new array of their own. */
  take(count: number): Uint8Array {
    const bytes = new Uint8Array(count);
    this.takeInto(bytes, 0, count);
    return bytes;
  }

  /** Moves `count` bytes from the front into `target` at `targetOffset`. */
  takeInto(target: Uint8Array, targetOffset: number, count: number): void {
    assert(count >= 0 && count <= this.byteCount, `take of ${count} from ${this.byteCount} bytes`);
    assert(targetOffset + count <= target.length, 'take target too small');
    let copied = 0;
    while (copied < count) {
      const head = this.chunks[0]!;
      const run = Math.min(head.length - this.headOffset, count - copied);
      target.set(head.subarray(this.headOffset, this.headOffset + run), targetOffset + copied);
      copied += run;
      this.advance(run);
    }
  }

  /** Drops `count` bytes from the front. */
  skip(count: number): void {
    assert(count >= 0 && count <= this.byteCount, `skip of ${count} from ${this.byteCount} bytes`);
    let left = count;
    while (left > 0) {
      const head = this.chunks[0]!;
      const run = Math.min(head.length - this.headOffset, left);
      left -= run;
      this.advance(run);
    }
  }

  /** Drops everything (a connection that is being closed). */
  clear(): void {
    this.chunks = [];
    this.headOffset = 0;
    this.byteCount = 0;
  }

  private advance(count: number): void {
    const head = this.chunks[0]!;
    this.headOffset += count;
    this.byteCount -= count;
    if (this.headOffset === head.length) {
      this.chunks.shift();
      this.headOffset = 0;
    }
    assert(this.byteCount >= 0, 'byte queue went negative');
  }
}
