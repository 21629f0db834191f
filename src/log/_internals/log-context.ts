/**
 * `struct log_c` and the methods the `core` and `disk` logs share
 * (`dm-log.c`; reference dm-mirror.md §2.1, §2.3, §2.7): three little-endian
 * bitsets (clean, sync, recovering), the in-sync counter, the forward
 * resync cursor, and the touched flags that tell `disk_flush` whether the
 * log must be written.
 *
 * The shared methods never block in the kernel. Here they act when called
 * and return an already-finished {@link Blocking}, so a caller that forgets
 * `yield*` still gets the kernel's effect instead of a silent no-op.
 */
import { assert, InvariantError } from '../../assert.js';
import type { Blocking } from '../../concurrency/blocking.js';
import { parseU32 } from '../../table/table-args.js';
import { TableError } from '../../table/table-error.js';
import { LeBitset } from '../bitset.js';
import type { DirtyLog, ResyncWork, StatusType } from '../dirty-log.js';
import type { ResyncRunLog } from '../resync-run.js';
import { settled, settledBit, settledVoid } from './settled.js';

/** `enum sync`: DEFAULTSYNC, NOSYNC (`nosync`), FORCESYNC (`sync`). */
export type SyncMode = 'default' | 'nosync' | 'forcesync';

/** What `create_log_context` takes from its arguments. */
export interface LogContextArgs {
  readonly regionSizeSectors: number;
  /** `ceil(ti->len / region_size)`. */
  readonly regionCount: number;
  readonly sync: SyncMode;
}

/** `region_count` is an `unsigned int` in `struct log_c`. */
const REGION_COUNT_MAX = 0xffff_ffff;

/** `get_resync_work`'s "no work" answer; `region` is not meaningful then. */
const NO_RESYNC_WORK: ResyncWork = Object.freeze({ result: 0, region: -1 });

/**
 * Parses `<region_size> [sync|nosync]` as `create_log_context` does, in its
 * order: argument count, then the sync word, then the region size
 * (`sscanf("%u%c")` and `_check_region_size`). Throws TableError.
 */
export function parseLogContextArgs(
  args: readonly string[],
  targetLengthSectors: number,
): LogContextArgs {
  if (!Number.isSafeInteger(targetLengthSectors) || targetLengthSectors <= 0) {
    throw new RangeError(`Target length ${targetLengthSectors} sectors is not a positive integer`);
  }
  if (args.length < 1 || args.length > 2) {
    throw new TableError(
      `Wrong number of arguments to dirty region log: got ${describeWords(args)}, expected 1 or 2 (<region_size> [sync|nosync])`,
    );
  }
  let sync: SyncMode = 'default';
  const syncWord = args[1];
  if (syncWord !== undefined) {
    if (syncWord === 'sync') sync = 'forcesync';
    else if (syncWord === 'nosync') sync = 'nosync';
    else {
      throw new TableError(
        `Unrecognised sync argument to dirty region log "${syncWord}": expected "sync" or "nosync"`,
      );
    }
  }
  const regionSizeSectors = parseU32(args[0], 'region size');
  if (
    regionSizeSectors < 2 ||
    regionSizeSectors > targetLengthSectors ||
    (regionSizeSectors & (regionSizeSectors - 1)) !== 0
  ) {
    throw new TableError(
      `Invalid region size "${args[0]}": expected a power of two from 2 to ${targetLengthSectors} sectors (the target length)`,
    );
  }
  const regionCount = Math.ceil(targetLengthSectors / regionSizeSectors);
  if (regionCount > REGION_COUNT_MAX) {
    throw new TableError(
      `Invalid region size "${args[0]}": ${regionCount} regions exceed the log's 32-bit region count; expected a larger region size`,
    );
  }
  return { regionSizeSectors, regionCount, sync };
}

/**
 * The state and shared methods of the `core` and `disk` logs. Subclasses
 * add `resume`, `flush`, `status` and `destroy` (and, for `disk`,
 * `postsuspend`).
 *
 * The read-only accessors below `// Simulator extensions` are not kernel
 * API: they let the mirror's tests and the simulator's white-box checks see
 * the bitsets and flags.
 */
export abstract class LogContext implements DirtyLog, ResyncRunLog {
  abstract readonly typeName: string;
  /** `region_size` in sectors. */
  readonly regionSizeSectors: number;
  /** `region_count`: regions covered by the log. */
  readonly regionCount: number;
  /** The table's sync argument. */
  readonly sync: SyncMode;

  /** 1 = clean (no write since the last clear). For the disk log, a window into its I/O buffer. */
  protected readonly cleanBits: LeBitset;
  /** 1 = every leg holds the same data for the region. */
  protected readonly syncBits: LeBitset;
  /** 1 = handed out by `get_resync_work` and not yet settled by `set_region_sync`. */
  protected readonly recoveringBits: LeBitset;
  /** `sync_count`: kept equal to the set bits of `syncBits` below `regionCount`. */
  protected syncCount: number;
  /** `sync_search`: where `get_resync_work` looks next; it only moves forward until resume. */
  protected syncSearch = 0;
  protected touchedDirtiedFlag = false;
  protected touchedCleanedFlag = false;
  protected flushFailedFlag = false;

  /** `create_log_context` after parsing; `cleanBits` is the memory the clean bitset lives in. */
  protected constructor(args: LogContextArgs, cleanBits: LeBitset) {
    this.regionSizeSectors = args.regionSizeSectors;
    this.regionCount = args.regionCount;
    this.sync = args.sync;
    assert(cleanBits.sizeBits >= this.regionCount, 'clean bitset smaller than the region count');
    this.cleanBits = cleanBits;
    this.cleanBits.fill(1);
    this.syncBits = new LeBitset(new Uint8Array(cleanBits.bytes.length));
    this.recoveringBits = new LeBitset(new Uint8Array(cleanBits.bytes.length));
    if (this.sync === 'nosync') {
      // Tail bits past the region count are set too (a whole-bitset memset), but never counted.
      this.syncBits.fill(1);
      this.syncCount = this.regionCount;
    } else {
      this.syncCount = 0;
    }
    this.checkInvariants();
  }

  abstract destroy(): Blocking<void>;
  abstract resume(): Blocking<number>;
  abstract flush(): Blocking<number>;
  abstract status(type: StatusType): Blocking<string>;

  /** `core_get_region_size`. */
  getRegionSize(): number {
    return this.regionSizeSectors;
  }

  /** `core_is_clean`: the clean bit. */
  isClean(region: number): Blocking<number> {
    this.checkRegion(region);
    return settledBit(this.cleanBits.test(region));
  }

  /** `core_in_sync`: the sync bit; never blocks, so `canBlock` is ignored. */
  inSync(region: number, _canBlock: boolean): Blocking<number> {
    this.checkRegion(region);
    return settledBit(this.syncBits.test(region));
  }

  /** `core_mark_region`: clears the clean bit. */
  markRegion(region: number): void {
    this.checkRegion(region);
    this.beforeMutation();
    this.clearBit(this.cleanBits, region);
  }

  /** `core_clear_region`: sets the clean bit, unless a leg flush has failed (`flush_failed`). */
  clearRegion(region: number): void {
    this.checkRegion(region);
    if (this.flushFailedFlag) return;
    this.beforeMutation();
    this.setBit(this.cleanBits, region);
  }

  /**
   * `core_get_resync_work`: the next out-of-sync region at or after the
   * cursor that is not already being recovered. The cursor only moves
   * forward, so a region behind it waits for the next resume.
   */
  getResyncWork(): Blocking<ResyncWork> {
    this.beforeMutation();
    if (this.syncSearch >= this.regionCount) return settled(NO_RESYNC_WORK);
    let region: number;
    do {
      region = this.syncBits.findNextZero(this.regionCount, this.syncSearch);
      this.syncSearch = region + 1;
      if (region >= this.regionCount) return settled(NO_RESYNC_WORK);
    } while (this.recoveringBits.test(region) === 1);
    this.setBit(this.recoveringBits, region);
    return settled({ result: 1, region });
  }

  /**
   * `core_set_region_sync`: always clears the recovering bit; records the
   * region in sync (counting it) or out of sync (uncounting it if it was).
   * The kernel counts an in-sync call unconditionally, so a second call for
   * a region already in sync would break `sync_count`; here that is an
   * InvariantError (§9 (e)).
   */
  setRegionSync(region: number, inSync: boolean): Blocking<void> {
    this.checkRegion(region);
    this.beforeMutation();
    this.clearBit(this.recoveringBits, region);
    if (inSync) {
      if (this.syncBits.test(region) === 1) {
        throw new InvariantError(
          `set_region_sync(${region}, 1) on a region already in sync would overcount sync_count`,
        );
      }
      this.setBit(this.syncBits, region);
      this.syncCount++;
      assert(this.syncCount <= this.regionCount, 'sync_count exceeds the region count');
    } else if (this.syncBits.test(region) === 1) {
      this.syncCount--;
      assert(this.syncCount >= 0, 'sync_count went negative');
      this.clearBit(this.syncBits, region);
    }
    return settledVoid();
  }

  /** `core_get_sync_count`. */
  getSyncCount(): Blocking<number> {
    return settled(this.syncCount);
  }

  // Run-at-once resync (src/log/resync-run.ts; not kernel API, same state as the calls one by one).

  /** The region {@link getResyncWork} would hand out now, or -1; changes nothing. */
  peekResyncWork(): number {
    let from = this.syncSearch;
    while (from < this.regionCount) {
      const region = this.syncBits.findNextZero(this.regionCount, from);
      if (region >= this.regionCount) return -1;
      if (this.recoveringBits.test(region) === 0) return region;
      from = region + 1;
    }
    return -1;
  }

  /**
   * {@link getResyncWork} while it would hand out `first`, `first + 1`, …
   * below `end`: every region in the run is out of sync and not yet
   * recovering, so each call would take the next one.
   */
  takeResyncRun(first: number, end: number): number {
    assert(first === this.peekResyncWork(), `resync run from ${first}, not the next resync work`);
    assert(end > first && end <= this.regionCount, `resync run end ${end} after ${first}`);
    this.beforeMutation();
    const runEnd = Math.min(
      this.syncBits.findNextOne(end, first),
      this.recoveringBits.findNextOne(end, first),
    );
    this.setBits(this.recoveringBits, first, runEnd);
    this.syncSearch = runEnd;
    return runEnd - first;
  }

  /**
   * {@link clearRegion} then {@link setRegionSync}(…, true) for each region
   * of the run, which {@link takeResyncRun} handed out.
   */
  completeResyncRun(first: number, count: number): void {
    const end = first + count;
    assert(count > 0 && end <= this.regionCount, `resync run [${first}, ${end}) is not regions`);
    assert(
      this.recoveringBits.findNextZero(end, first) === end,
      `resync run [${first}, ${end}) was not all handed out by get_resync_work`,
    );
    if (this.syncBits.findNextOne(end, first) !== end) {
      throw new InvariantError(
        `set_region_sync over [${first}, ${end}) on a region already in sync would overcount sync_count`,
      );
    }
    this.beforeMutation();
    if (!this.flushFailedFlag) this.setBits(this.cleanBits, first, end);
    this.clearBits(this.recoveringBits, first, end);
    this.setBits(this.syncBits, first, end);
    this.syncCount += count;
    assert(this.syncCount <= this.regionCount, 'sync_count exceeds the region count');
  }

  // Simulator extensions (read-only; not kernel API).

  /** The clean bit of `region` (true = clean). */
  isCleanBit(region: number): boolean {
    this.checkRegion(region);
    return this.cleanBits.test(region) === 1;
  }

  /** The sync bit of `region` (true = in sync). */
  isSyncBit(region: number): boolean {
    this.checkRegion(region);
    return this.syncBits.test(region) === 1;
  }

  /** The recovering bit of `region`. */
  isRecoveringBit(region: number): boolean {
    this.checkRegion(region);
    return this.recoveringBits.test(region) === 1;
  }

  /** `touched_dirtied`: some bit was cleared since the last successful log-device flush. */
  get touchedDirtied(): boolean {
    return this.touchedDirtiedFlag;
  }

  /** `touched_cleaned`: some bit was set since the last successful log write. */
  get touchedCleaned(): boolean {
    return this.touchedCleanedFlag;
  }

  /** `flush_failed`: a leg flush failed; nothing is recorded clean again in this log. */
  get flushFailed(): boolean {
    return this.flushFailedFlag;
  }

  /** `sync_search`: the resync cursor. */
  get syncSearchPosition(): number {
    return this.syncSearch;
  }

  /**
   * Asserts `sync_count == popcount(sync_bits)` over the regions, and the
   * count's bounds. O(regions / 32): the mutators keep it by pairing each
   * count change with a bit transition, and this checks the whole.
   */
  checkInvariants(): void {
    assert(
      this.syncCount >= 0 && this.syncCount <= this.regionCount,
      `sync_count ${this.syncCount} is outside [0, ${this.regionCount}]`,
    );
    const counted = this.syncBits.countOnesBelow(this.regionCount);
    assert(
      counted === this.syncCount,
      `sync_count ${this.syncCount} differs from the ${counted} sync bits set`,
    );
    assert(this.syncSearch >= 0, `sync_search ${this.syncSearch} is negative`);
  }

  /** `log_set_bit`: any set, on any bitset, marks the log touched-cleaned. */
  protected setBit(bitset: LeBitset, bit: number): void {
    bitset.set(bit);
    this.touchedCleanedFlag = true;
  }

  /** `log_clear_bit`: any clear, on any bitset, marks the log touched-dirtied. */
  protected clearBit(bitset: LeBitset, bit: number): void {
    bitset.clear(bit);
    this.touchedDirtiedFlag = true;
  }

  /** `log_set_bit` for each bit of `[fromBit, toBit)`: touched only if the range is not empty. */
  protected setBits(bitset: LeBitset, fromBit: number, toBit: number): void {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent — the one caller, a nosync disk_resume, always sets [0, region_count) and region_count is at least 1.
    if (fromBit >= toBit) return;
    bitset.fillRange(fromBit, toBit, 1);
    this.touchedCleanedFlag = true;
  }

  /** `log_clear_bit` for each bit of `[fromBit, toBit)`: touched only if the range is not empty. */
  protected clearBits(bitset: LeBitset, fromBit: number, toBit: number): void {
    if (fromBit >= toBit) return;
    bitset.fillRange(fromBit, toBit, 0);
    this.touchedDirtiedFlag = true;
  }

  /**
   * A hook before any state change. In the kernel every mutator runs on
   * kmirrord, the thread that also runs `disk_flush`, so none can happen
   * while the log is doing its I/O; the disk log asserts that here.
   */
  protected beforeMutation(): void {}

  /** Rejects a region outside `[0, regionCount)`; builds a message only when it fails. */
  protected checkRegion(region: number): void {
    if (!(Number.isInteger(region) && region >= 0 && region < this.regionCount)) {
      throw new RangeError(
        `Region ${region} is out of range for a ${this.regionCount}-region ${this.typeName} log: expected an integer from 0 to ${this.regionCount - 1}`,
      );
    }
  }

  /** The table words after the type's own: `<region_size> [sync |nosync ]`, each followed by a space. */
  protected statusTableTail(): string {
    const syncWord = this.sync === 'default' ? '' : this.sync === 'nosync' ? 'nosync ' : 'sync ';
    return `${this.regionSizeSectors} ${syncWord}`;
  }

  /** The argument count the table line shows for the region size and sync word. */
  protected get statusArgumentCount(): number {
    return this.sync === 'default' ? 1 : 2;
  }
}

/** `3 ("a" "b" "c")`, for argument-count errors. */
export function describeWords(words: readonly string[]): string {
  if (words.length === 0) return '0';
  return `${words.length} (${words.map((word) => `"${word}"`).join(' ')})`;
}
