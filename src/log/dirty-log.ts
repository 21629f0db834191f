/**
 * The dirty-log interface: the TypeScript face of Linux's
 * `dm_dirty_log_type` (include/linux/dm-dirty-log.h; reference dm-mirror.md
 * §1.1). Methods that "may block" in the kernel return a {@link Blocking}
 * computation; the others return at once. Return values follow the kernel:
 * 0 or a negative errno, 1/0 for yes/no.
 */
import type { BlockDevice } from '../block/block-device.js';
import type { Blocking } from '../concurrency/blocking.js';
import type { Scheduler } from '../world/scheduler.js';
import type { UlogTransfer } from './userspace/ulog-transfer.js';

/** `status` types: INFO is `dmsetup status`, TABLE is `dmsetup table`. */
export type StatusType = 'info' | 'table';

/** What `get_resync_work` answers: result 1 with a region, 0 for no work, or a negative errno. */
export interface ResyncWork {
  readonly result: number;
  readonly region: number;
}

/** What the mirror target gives a log at construction (`dm_dirty_log_create`). */
export interface DirtyLogContext {
  readonly scheduler: Scheduler;
  /** `ti->len`: the mirror target's length in sectors. */
  readonly targetLengthSectors: number;
  /**
   * The mirror's `flush_callback_fn` (`mirror_flush`): an empty PREFLUSH to
   * every leg. Resolves 0, or -EIO if a leg failed it. Null when the log is
   * used without a mirror.
   */
  readonly flushCallback: (() => Blocking<number>) | null;
  /**
   * `dm_get_device`: opens a device named in the table. Throws TableError
   * if it does not exist. `minimumSizeSectors` says how much of it the log
   * needs, so a simulator can create a missing device at that size.
   */
  readonly getDevice: (name: string, minimumSizeSectors?: number) => BlockDevice;
  /** `dm_table_event`: tell userspace something changed (for example the log device failed). */
  readonly raiseEvent: (reason: string) => void;
  /**
   * The kernel's userspace-log transfer layer (one per simulated machine,
   * shared by all its `userspace` logs), fetched only by a log that needs
   * it. Absent where no log daemon is reachable.
   */
  readonly userspaceTransfer?: () => UlogTransfer;
}

export interface DirtyLog {
  /** The registered type name, e.g. `disk`. */
  readonly typeName: string;

  /** `dtr`. */
  destroy(): Blocking<void>;
  /** Optional `presuspend` (core and disk do not have one). */
  presuspend?(): Blocking<number>;
  /** Optional `postsuspend` (the disk log flushes here). */
  postsuspend?(): Blocking<number>;
  /** `resume`: runs before recovery starts; a failure is only a warning to the mirror. */
  resume(): Blocking<number>;

  /** `get_region_size`, in sectors. Never blocks. */
  getRegionSize(): number;
  /** `is_clean`: 1 if the region is clean in the log. Not called by the mirror. */
  isClean(region: number): Blocking<number>;
  /**
   * `in_sync`: 1 if every leg holds the same data for the region, 0 if not,
   * `EWOULDBLOCK` when `canBlock` is false and the answer needs blocking, or
   * another negative errno. Must not block when `canBlock` is false.
   */
  inSync(region: number, canBlock: boolean): Blocking<number>;
  /** `flush`: make the marks and clears so far durable. 0 or a negative errno. */
  flush(): Blocking<number>;
  /** `mark_region`: writes are about to reach this clean region. Never blocks. */
  markRegion(region: number): void;
  /** `clear_region`: every write to the region has completed. Never blocks. */
  clearRegion(region: number): void;
  /** `get_resync_work`: the next region to recover, if any. */
  getResyncWork(): Blocking<ResyncWork>;
  /** `set_region_sync`: record the region in sync (or not), and clear its recovering flag. */
  setRegionSync(region: number, inSync: boolean): Blocking<void>;
  /** `get_sync_count`: how many regions are in sync. */
  getSyncCount(): Blocking<number>;
  /** `status`: the log's part of `dmsetup status` (info) or `dmsetup table` (table). */
  status(type: StatusType): Blocking<string>;
  /** Optional `is_remote_recovering`: 1 if another node is recovering the region. */
  isRemoteRecovering?(region: number): Blocking<number>;
}

/** A registered log design: its name and its constructor (`ctr`). */
export interface DirtyLogType {
  readonly name: string;
  /** One line for `--help` and the README. */
  readonly summary: string;
  /**
   * `ctr`: builds a log from its table arguments (those after `#log_args`).
   * Throws TableError, naming the bad value, for invalid arguments.
   */
  create(context: DirtyLogContext, args: readonly string[]): DirtyLog;
  /**
   * The log arguments a simulator uses when asked for this log type without
   * a table (`mirrorsim run --log TYPE`), e.g. `['log0', '1024']` for disk.
   * `logDeviceName` names a log device the type may use.
   */
  defaultTableArgs?(options: {
    readonly regionSizeSectors: number;
    readonly logDeviceName: string;
    /** One of {@link DirtyLogType.tableVariants}, or undefined for the plain default. */
    readonly variant?: string;
  }): string[];
  /**
   * Named alternatives to the default arguments worth comparing, e.g.
   * `integrated_flush` for userspace. `mirrorsim run --log TYPE+VARIANT`
   * and the benchmark use them.
   */
  readonly tableVariants?: readonly string[];
}
