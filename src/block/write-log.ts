/**
 * A dm-log-writes style record of what reached a device, in the order a
 * power cut could expose it: a write is logged only when a later flush
 * completes (and only if it had completed when that flush was issued); a
 * FUA write is logged when it completes; discards are ordered like writes.
 * Named marks can be inserted. The log replays into a fresh store up to an
 * entry, up to a mark, or flush by flush, as xfstests' replay-log does.
 */
import { applyPendingWrite, type PendingWrite } from './pending-write.js';
import type { SparseStore } from './sparse-store.js';

export type WriteLogEntry =
  | { readonly kind: 'write'; readonly write: PendingWrite }
  | { readonly kind: 'flush' }
  | { readonly kind: 'mark'; readonly name: string };

/** The marker dm-log-writes ends every log with. */
export const WRITE_LOG_END_MARK = 'dm-log-writes-end';

export class WriteLog {
  private readonly logged: WriteLogEntry[] = [];

  get entries(): readonly WriteLogEntry[] {
    return this.logged;
  }

  get length(): number {
    return this.logged.length;
  }

  /** Inserts a named mark (dm-log-writes' `mark` message). */
  mark(name: string): void {
    if (name.length === 0) throw new RangeError('A write-log mark needs a non-empty name');
    this.logged.push({ kind: 'mark', name });
  }

  /** Records a write or discard. The log keeps its own copy of the descriptor. */
  appendWrite(write: PendingWrite): void {
    this.logged.push({ kind: 'write', write: { ...write, superseded: null } });
  }

  appendFlush(): void {
    this.logged.push({ kind: 'flush' });
  }

  /** The index of the first mark named `name` at or after `fromIndex`, or -1. */
  findMark(name: string, fromIndex = 0): number {
    for (let index = fromIndex; index < this.logged.length; index++) {
      const entry = this.logged[index]!;
      if (entry.kind === 'mark' && entry.name === name) return index;
    }
    return -1;
  }

  /** The index of the next flush (or FUA write, with `fua`) at or after `fromIndex`, or -1. */
  findNext(kind: 'flush' | 'fua', fromIndex = 0): number {
    for (let index = fromIndex; index < this.logged.length; index++) {
      const entry = this.logged[index]!;
      if (kind === 'flush' && entry.kind === 'flush') return index;
      if (kind === 'fua' && entry.kind === 'write' && entry.write.fua) return index;
    }
    return -1;
  }
}

/** Replays a {@link WriteLog} into a store, step by step. */
export class WriteLogReplayer {
  private replayed = 0;

  constructor(
    private readonly log: WriteLog,
    readonly target: SparseStore,
  ) {}

  /** Entries replayed so far. */
  get position(): number {
    return this.replayed;
  }

  get done(): boolean {
    return this.replayed >= this.log.length;
  }

  /** Replays one entry and returns it, or undefined at the end. */
  replayNext(): WriteLogEntry | undefined {
    const entry = this.log.entries[this.replayed];
    if (entry === undefined) return undefined;
    if (entry.kind === 'write') applyPendingWrite(this.target, entry.write, null);
    this.replayed++;
    return entry;
  }

  /** Replays until `entryCount` entries in all have been replayed (replay-log's `--limit`). */
  replayTo(entryCount: number): void {
    if (
      !Number.isSafeInteger(entryCount) ||
      entryCount < this.replayed ||
      entryCount > this.log.length
    ) {
      throw new RangeError(
        `Cannot replay to entry ${entryCount}: expected ${this.replayed}..${this.log.length}`,
      );
    }
    while (this.replayed < entryCount) this.replayNext();
  }

  /** Replays through the first mark named `name` after the current position. */
  replayToMark(name: string): void {
    const index = this.log.findMark(name, this.replayed);
    if (index < 0) throw new RangeError(`No write-log mark "${name}" after entry ${this.replayed}`);
    this.replayTo(index + 1);
  }

  /** Replays through the next flush (or FUA write). Returns false, replaying nothing, if there is none. */
  replayToNext(kind: 'flush' | 'fua'): boolean {
    const index = this.log.findNext(kind, this.replayed);
    if (index < 0) return false;
    this.replayTo(index + 1);
    return true;
  }
}
