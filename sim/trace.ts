/**
 * The event trace: every event the scheduler runs and every decision the
 * library records flows through here. It keeps a running 64-bit hash that
 * is the same on every machine for the same seed, and optionally the most
 * recent records, for `mirrorsim replay`.
 */
import { Hash64, hashString32 } from '../src/hash.js';

/** One remembered trace record. */
export interface TraceRecord {
  readonly timeTicks: number;
  readonly label: string;
  readonly detail: number;
  /** True for scheduled events, false for points recorded with `trace()`. */
  readonly isEvent: boolean;
}

const TWO_TO_32 = 0x1_0000_0000;

export class Trace {
  private readonly running = new Hash64();
  private recordCountTotal = 0;
  private readonly labelHashes = new Map<string, number>();
  private readonly ring: TraceRecord[] = [];
  private ringNext = 0;

  /** `recentCapacity` records are kept for display; 0 keeps none (fastest). */
  constructor(private readonly recentCapacity = 0) {
    if (!Number.isSafeInteger(recentCapacity) || recentCapacity < 0) {
      throw new RangeError(`Trace capacity ${recentCapacity} is not a non-negative integer`);
    }
  }

  get recordCount(): number {
    return this.recordCountTotal;
  }

  record(timeTicks: number, label: string, detail: number, isEvent: boolean): void {
    let labelHash = this.labelHashes.get(label);
    if (labelHash === undefined) {
      labelHash = hashString32(label);
      this.labelHashes.set(label, labelHash);
    }
    this.running
      .integer(timeTicks)
      .word(labelHash)
      .word(detail >>> 0)
      .word(((detail / TWO_TO_32) >>> 0) ^ (isEvent ? 0x5bd1e995 : 0));
    this.recordCountTotal++;
    if (this.recentCapacity > 0) {
      const entry: TraceRecord = { timeTicks, label, detail, isEvent };
      if (this.ring.length < this.recentCapacity) this.ring.push(entry);
      else this.ring[this.ringNext] = entry;
      this.ringNext = (this.ringNext + 1) % this.recentCapacity;
    }
  }

  /** The hash of everything recorded so far, as 16 hex digits. */
  hash(): string {
    return this.running.hex();
  }

  /** The remembered records, oldest first. */
  recent(): TraceRecord[] {
    if (this.ring.length < this.recentCapacity) return this.ring.slice();
    return [...this.ring.slice(this.ringNext), ...this.ring.slice(0, this.ringNext)];
  }
}
