/**
 * What the content oracle remembers of every write: two hash words per
 * sector, packed into shared 256 KiB pages and found by write id through
 * one flat offset table. A Map of small arrays per write cost an object,
 * an array and a map entry per write, which a long fio run turns into
 * hundreds of thousands of old-generation objects for the garbage
 * collector to mark again and again; this costs 8 bytes per write plus the
 * hashes.
 */
import { assert } from '../../../src/assert.js';
import { SECTOR_SIZE_BYTES } from '../../../src/block/sector.js';
import { sectorHashesInto } from './sector-hash.js';

/** Words per shared page (256 KiB). */
const PAGE_WORDS = 1 << 16;
/** Offsets encode page × stride + word; a page is never longer than this. */
const PAGE_STRIDE = 2 ** 22;
const NO_ENTRY = -1;
const ALL_ZERO = -2;

/** Per-sector hashes of every write, by write id (see the file comment). */
export class SectorHashStore {
  private readonly pages: Uint32Array[] = [];
  /** The page small writes fill now, and how much of it is used. */
  private sharedIndex = -1;
  private sharedUsed = PAGE_WORDS;
  private offsets = new Float64Array(1024).fill(NO_ENTRY);

  /** Remembers the hashes of every sector of `data`, written by write `id`. */
  addData(id: number, data: Uint8Array): void {
    const words = (2 * data.length) / SECTOR_SIZE_BYTES;
    assert(words > 0 && words < PAGE_STRIDE, `a write of ${data.length} bytes cannot be hashed`);
    if (words > PAGE_WORDS) {
      // A large write gets a page of its own; the shared page stays open.
      this.pages.push(new Uint32Array(words));
      this.setOffset(id, (this.pages.length - 1) * PAGE_STRIDE);
      sectorHashesInto(data, this.pages[this.pages.length - 1]!, 0);
      return;
    }
    if (this.sharedUsed + words > PAGE_WORDS) {
      this.pages.push(new Uint32Array(PAGE_WORDS));
      this.sharedIndex = this.pages.length - 1;
      this.sharedUsed = 0;
    }
    const at = this.sharedUsed;
    this.sharedUsed += words;
    this.setOffset(id, this.sharedIndex * PAGE_STRIDE + at);
    sectorHashesInto(data, this.pages[this.sharedIndex]!, at);
  }

  /** Remembers that write `id` put zeros on every sector it covers. */
  addZero(id: number): void {
    this.setOffset(id, ALL_ZERO);
  }

  /**
   * Whether write `id` put on its `sectorIndex`-th sector the content with
   * these hashes (or zeros, when `zero`). False for an unknown id.
   */
  holds(
    id: number,
    sectorIndex: number,
    zero: boolean,
    hashHigh: number,
    hashLow: number,
  ): boolean {
    const offset = id < this.offsets.length ? this.offsets[id]! : NO_ENTRY;
    if (offset === NO_ENTRY) return false;
    if (offset === ALL_ZERO) return zero;
    if (zero) return false;
    const page = this.pages[Math.floor(offset / PAGE_STRIDE)]!;
    const at = (offset % PAGE_STRIDE) + 2 * sectorIndex;
    return page[at] === hashHigh && page[at + 1] === hashLow;
  }

  private setOffset(id: number, offset: number): void {
    assert(Number.isSafeInteger(id) && id >= 1, `write id ${id} is not ≥ 1`);
    while (id >= this.offsets.length) {
      const grown = new Float64Array(this.offsets.length * 2).fill(NO_ENTRY);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    assert(this.offsets[id] === NO_ENTRY, `write ${id} hashed twice`);
    this.offsets[id] = offset;
  }
}
