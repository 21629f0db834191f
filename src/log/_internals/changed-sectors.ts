/**
 * Which sectors of a log's I/O buffer changed since it was last written
 * whole or in part, so that the next write can tell the device which of
 * its bytes are new (`WriteRequest.changed`) instead of having the device
 * copy a buffer of up to 512 MiB (2^32 regions) it mostly holds already.
 * Spans are kept as marked and merged when taken; past
 * {@link CHANGED_SPANS_MAX} marks, or after {@link ChangedSectors.markAll},
 * the whole buffer counts as changed.
 */
import { assert } from '../../assert.js';
import type { SectorSpan } from '../../block/block-device.js';
import { SECTOR_SIZE_BYTES } from '../../block/sector.js';

/** Spans kept before the whole buffer counts as changed (a bound on the list). */
export const CHANGED_SPANS_MAX = 4096;

/** The changed sectors of one buffer (see the file comment). */
export class ChangedSectors {
  /** Marked spans as [first, end) sector pairs, unsorted. */
  private spans: number[] = [];
  private all = true;

  constructor(private readonly sectorCount: number) {
    assert(Number.isSafeInteger(sectorCount) && sectorCount > 0, 'a buffer of no sectors');
  }

  /** Bytes `[fromByte, toByte)` of the buffer changed. */
  markBytes(fromByte: number, toByte: number): void {
    if (this.all || toByte <= fromByte) return;
    const first = Math.floor(fromByte / SECTOR_SIZE_BYTES);
    const end = Math.ceil(toByte / SECTOR_SIZE_BYTES);
    assert(end <= this.sectorCount, `changed bytes [${fromByte}, ${toByte}) past the buffer`);
    if (this.spans.length >= 2 * CHANGED_SPANS_MAX) {
      this.markAll();
      return;
    }
    this.spans.push(first, end);
  }

  /** Everything changed (or nobody knows what the device holds). */
  markAll(): void {
    this.all = true;
    this.spans = [];
  }

  /** The buffer and the device agree (a write of it completed). */
  clear(): void {
    this.all = false;
    this.spans = [];
  }

  /** The changed spans, sorted and merged; null when the whole buffer counts as changed. */
  spansChanged(): SectorSpan[] | null {
    if (this.all) return null;
    const pairs: [number, number][] = [];
    for (let index = 0; index < this.spans.length; index += 2) {
      pairs.push([this.spans[index]!, this.spans[index + 1]!]);
    }
    pairs.sort((left, right) => left[0] - right[0]);
    const merged: SectorSpan[] = [];
    let [first, end] = pairs[0] ?? [0, 0];
    for (const [from, to] of pairs.slice(1)) {
      if (from <= end) {
        end = Math.max(end, to);
        continue;
      }
      merged.push({ sectorOffset: first, sectorCount: end - first });
      [first, end] = [from, to];
    }
    if (end > first) merged.push({ sectorOffset: first, sectorCount: end - first });
    return merged;
  }
}
