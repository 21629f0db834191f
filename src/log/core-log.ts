/**
 * The `core` dirty log (`dm-log.c`; reference dm-mirror.md §2): the shared
 * bitsets in memory only. Nothing survives a reload or a crash, so without
 * `nosync` a new table resyncs every region.
 *
 * Table arguments: `core <#args> <region_size> [sync|nosync]`, e.g.
 * `core 1 1024` or `core 2 1024 nosync`.
 */
import type { Blocking } from '../concurrency/blocking.js';
import { LogContext, type LogContextArgs, parseLogContextArgs } from './_internals/log-context.js';
import { settled, settledBit, settledVoid } from './_internals/settled.js';
import { LeBitset } from './bitset.js';
import type { DirtyLogContext, DirtyLogType, StatusType } from './dirty-log.js';
import { registerDirtyLogType } from './registry.js';

/** The registered name. */
export const CORE_LOG_TYPE_NAME = 'core';

/**
 * A `core` log. It has no `presuspend` and no `postsuspend`; `flush` does
 * nothing; `resume` only rewinds the resync cursor, so the state survives a
 * suspend and resume of the same table.
 */
export class CoreLog extends LogContext {
  readonly typeName = CORE_LOG_TYPE_NAME;

  /** `core_ctr`; prefer {@link createDirtyLog} with the type name. */
  constructor(args: LogContextArgs) {
    super(args, LeBitset.allocate(args.regionCount));
  }

  /** `core_dtr`: nothing to release in a garbage-collected world. */
  destroy(): Blocking<void> {
    return settledVoid();
  }

  /** `core_resume`: `sync_search = 0`, nothing else. */
  resume(): Blocking<number> {
    this.syncSearch = 0;
    return settledBit(0);
  }

  /** `core_flush`: a no-op returning 0. */
  flush(): Blocking<number> {
    return settledBit(0);
  }

  /** `core_status`: INFO `1 core`; TABLE `core <1|2> <region_size> [sync |nosync ]`. */
  status(type: StatusType): Blocking<string> {
    if (type === 'info') return settled(`1 ${this.typeName}`);
    return settled(`${this.typeName} ${this.statusArgumentCount} ${this.statusTableTail()}`);
  }
}

/** The `core` log type: `<region_size> [sync|nosync]`. */
export const coreLogType: DirtyLogType = {
  name: CORE_LOG_TYPE_NAME,
  summary: 'in-memory dirty log: fastest, forgets everything at every reload (full resync)',
  create(context: DirtyLogContext, args: readonly string[]): CoreLog {
    return new CoreLog(parseLogContextArgs(args, context.targetLengthSectors));
  },
  defaultTableArgs: ({ regionSizeSectors }) => [String(regionSizeSectors)],
};

registerDirtyLogType(coreLogType);
