/**
 * The log daemon's request handler, shared by the simulator's in-process
 * daemon (sim/) and the real `mirrorsim log-daemon` process (host/):
 * decoded request in, reply record out (reference
 * userspace-and-cluster-logs.md §1.4–§1.5, §4.2, §4.6).
 *
 * It serves several logs at once, keyed by uuid and luid. CTR builds a log
 * of any registered type from the CTR string (`<length> <type> <args…>`)
 * through the registry; DTR destroys it. Every other request goes to its
 * log; bad input gets an error reply and never stops the daemon.
 *
 * Backing logs run here with `flushCallback: null`: a daemon cannot flush
 * the kernel's mirror legs (cmirrord does not either). So a backing `disk`
 * log writes clean bits without first making the legs' data durable, and
 * with volatile leg caches a machine crash can leave a region recorded
 * clean whose legs differ.
 *
 * Two deliberate differences from cmirrord make a daemon restart
 * survivable:
 *
 * - A request for a log the daemon does not know (it restarted and lost its
 *   state), and a data-path request for a log built but not yet resumed,
 *   are answered `-ESRCH`, which sends the kernel through its reconnect
 *   path (CTR, RESUME, retry; §2.7). cmirrord answers `-EINVAL` (the log is
 *   not on its official list), which the kernel takes as a failure, or for
 *   IN_SYNC as "not in sync": a request racing another task's reconnect,
 *   between its CTR and its RESUME, then misclassifies a write as nosync
 *   while the region hash marks the region — the legs diverge under a
 *   clean, in-sync region. The simulator found that race.
 * - A CTR that repeats the constructor string of a log the daemon already
 *   has succeeds (cmirrord: `-EINVAL`, "Log already exists"), so a
 *   reconnect whose CTR reply was lost does not loop forever (§2.7).
 */
import { assert } from '../../assert.js';
import type { BlockDevice } from '../../block/block-device.js';
import type { Blocking } from '../../concurrency/blocking.js';
import { EINVAL, ESRCH } from '../../errno.js';
import { TableError } from '../../table/table-error.js';
import type { Scheduler } from '../../world/scheduler.js';
import type { DirtyLogContext } from '../dirty-log.js';
import { createDirtyLog } from '../registry.js';
import { DaemonLog, type DaemonResult } from './_internals/daemon-log.js';
import {
  decodeUlogRegionSync,
  decodeUlogRegions,
  decodeUlogU64,
  encodeUlogRemoteRecovering,
  encodeUlogResyncWork,
  encodeUlogS64,
  encodeUlogU64,
} from './ulog-binary-payloads.js';
import { parseUlogCtrString } from './ulog-constructor.js';
import { UlogProtocolError } from './ulog-protocol-error.js';
import { buildUlogReply } from './ulog-reply.js';
import type { UlogRequest } from './ulog-request.js';
import { ULOG_REQUEST_TYPE_MAX, UlogRequestType } from './ulog-request-type.js';
import { decodeUlogCtrRequest, encodeUlogStatus } from './ulog-text-payloads.js';

/** How a {@link UlogDaemon} is built. */
export interface UlogDaemonOptions {
  /** The daemon's clock and timers (the world's, or a real-time one). */
  readonly scheduler: Scheduler;
  /**
   * Opens a device a backing log names (a `disk` log's log device),
   * creating it at `minimumSizeSectors` if it does not exist yet. Throws
   * TableError when it cannot.
   */
  readonly getDevice: (name: string, minimumSizeSectors: number) => BlockDevice;
  /**
   * The size a device is created at when its log does not say: enough for
   * any log of a target `targetLengthSectors` long. Default: a disk log's
   * buffer at the smallest region size (2 sectors).
   */
  readonly deviceSizeSectorsFor?: (targetLengthSectors: number) => number;
  /**
   * A resource limit for daemons that take requests from untrusted
   * clients: a CTR whose estimated region count (the length over the first
   * all-digit argument, the region size of every built-in log type) exceeds
   * it is refused with `-EINVAL` before any bitset is allocated. No limit
   * when absent.
   */
  readonly regionsMax?: number;
  /** Where the daemon's own log lines go (events of backing logs, refused requests). */
  readonly onMessage?: (text: string) => void;
}

/** Counters of what the daemon did. */
export interface UlogDaemonStats {
  /** Requests handled, by request type code (index 0 unused). */
  readonly requestsByType: number[];
  /** Replies with a non-zero error. */
  errorReplies: number;
}

/** The daemon's state: the logs it serves, and how it answers requests. */
export class UlogDaemon {
  readonly stats: UlogDaemonStats = {
    requestsByType: new Array<number>(ULOG_REQUEST_TYPE_MAX + 1).fill(0),
    errorReplies: 0,
  };
  private readonly options: UlogDaemonOptions;
  /** Served logs, by `uuid` NUL `luid`. */
  private readonly logs = new Map<string, DaemonLog>();

  constructor(options: UlogDaemonOptions) {
    this.options = options;
  }

  /** How many logs are constructed and not destroyed. */
  get logCount(): number {
    return this.logs.size;
  }

  /** The served log for `(uuid, luid)`; with luid 0 the first log with that uuid (cmirrord's `get_log`). */
  findLog(uuid: string, luid: bigint): DaemonLog | undefined {
    if (luid !== 0n) return this.logs.get(logKey(uuid, luid));
    for (const log of this.logs.values()) if (log.uuid === uuid) return log;
    return undefined;
  }

  /**
   * Handles one decoded request to completion and returns its reply: the
   * request's own header with `error` set and the reply payload. The
   * request must be one the decoder accepted (the channels decode every
   * record first and answer a bad header themselves, §1.5); a payload or a
   * request the daemon refuses is answered with its errno, never thrown. A
   * broken invariant still throws.
   */
  *handle(request: UlogRequest): Blocking<UlogRequest> {
    this.stats.requestsByType[request.requestType] =
      (this.stats.requestsByType[request.requestType] ?? 0) + 1;
    let result: DaemonResult;
    try {
      result = yield* this.dispatch(request);
    } catch (error) {
      if (!(error instanceof UlogProtocolError)) throw error;
      this.note(`refused ${request.requestType} seq ${request.seq}: ${error.message}`);
      result = { error: error.errno };
    }
    return this.reply(request, result);
  }

  private *dispatch(request: UlogRequest): Blocking<DaemonResult> {
    if (request.requestType === UlogRequestType.CTR) return this.construct(request);
    const log = this.findLog(request.uuid, request.luid);
    if (log === undefined) return { error: ESRCH };
    if (log.state === 'constructed' && DATA_PATH_TYPES.has(request.requestType)) {
      return { error: ESRCH };
    }
    switch (request.requestType) {
      case UlogRequestType.DTR:
        this.logs.delete(logKey(log.uuid, log.luid));
        yield* log.backing.destroy();
        return { error: 0 };
      case UlogRequestType.PRESUSPEND:
        return { error: yield* log.presuspend() };
      case UlogRequestType.POSTSUSPEND:
        return { error: yield* log.postsuspend() };
      case UlogRequestType.RESUME:
        return { error: yield* log.resume() };
      case UlogRequestType.GET_REGION_SIZE:
        return { error: 0, data: encodeUlogU64(log.backing.getRegionSize()) };
      case UlogRequestType.GET_SYNC_COUNT:
        return { error: 0, data: encodeUlogU64(yield* log.backing.getSyncCount()) };
      case UlogRequestType.STATUS_INFO:
      case UlogRequestType.STATUS_TABLE: {
        const type = request.requestType === UlogRequestType.STATUS_INFO ? 'info' : 'table';
        return { error: 0, data: encodeUlogStatus(yield* log.backing.status(type)) };
      }
      default:
        return yield* this.dispatchRegionRequest(log, request);
    }
  }

  /** The requests that name regions: each is checked against the log's region count first. */
  private *dispatchRegionRequest(log: DaemonLog, request: UlogRequest): Blocking<DaemonResult> {
    switch (request.requestType) {
      case UlogRequestType.IS_CLEAN:
      case UlogRequestType.IN_SYNC: {
        const region = this.oneRegion(log, request.data);
        if (region < 0) return { error: region };
        const answer =
          request.requestType === UlogRequestType.IS_CLEAN
            ? yield* log.backing.isClean(region)
            : yield* log.backing.inSync(region, true);
        return answer < 0 ? { error: answer } : { error: 0, data: encodeUlogS64(answer) };
      }
      case UlogRequestType.FLUSH:
      case UlogRequestType.MARK_REGION:
      case UlogRequestType.CLEAR_REGION:
        return yield* this.regionList(log, request);
      case UlogRequestType.GET_RESYNC_WORK: {
        const work = yield* log.getResyncWork();
        if (work.error !== 0) return { error: work.error };
        return { error: 0, data: encodeUlogResyncWork(work) };
      }
      case UlogRequestType.SET_REGION_SYNC: {
        const sync = decodeUlogRegionSync(request.data);
        if (log.checkRegions([sync.region]) !== 0 || (sync.inSync !== 0n && sync.inSync !== 1n)) {
          return { error: EINVAL };
        }
        yield* log.setRegionSync(Number(sync.region), sync.inSync === 1n);
        return { error: 0 };
      }
      case UlogRequestType.IS_REMOTE_RECOVERING: {
        const region = this.oneRegion(log, request.data);
        if (region < 0) return { error: region };
        const answer = yield* log.isRemoteRecovering(region);
        const data = encodeUlogRemoteRecovering({
          isRecovering: answer.recovering,
          inSyncHint: answer.hint,
        });
        return { error: 0, data };
      }
      default:
        assert(false, `request type ${request.requestType} reached the region dispatcher`);
    }
  }

  /** MARK, CLEAR and FLUSH (with its optional marks): all regions checked before any is applied. */
  private *regionList(log: DaemonLog, request: UlogRequest): Blocking<DaemonResult> {
    const raw = decodeUlogRegions(request.data);
    const error = log.checkRegions(raw);
    if (error !== 0) return { error };
    const regions = raw.map(Number);
    if (request.requestType === UlogRequestType.CLEAR_REGION) {
      yield* log.clear(regions);
      return { error: 0 };
    }
    log.mark(regions);
    if (request.requestType === UlogRequestType.MARK_REGION) return { error: 0 };
    return { error: yield* log.backing.flush() };
  }

  /** CTR: a log of the named type over the string's length and arguments. */
  private construct(request: UlogRequest): DaemonResult {
    const ctrString = decodeUlogCtrRequest(request.data);
    const ctr = parseUlogCtrString(ctrString);
    const existing = this.logs.get(logKey(request.uuid, request.luid));
    if (existing !== undefined) {
      if (existing.ctrString === ctrString) return { error: 0 };
      this.note(`Log already exists: ${request.uuid}/${request.luid}`);
      return { error: EINVAL };
    }
    const regionsMax = this.options.regionsMax;
    if (regionsMax !== undefined && estimateRegionCount(ctr) > regionsMax) {
      this.note(`CTR of "${request.uuid}" refused: more than ${regionsMax} regions`);
      return { error: EINVAL };
    }
    let backing: ReturnType<typeof createDirtyLog>;
    try {
      backing = createDirtyLog(ctr.logType, this.backingContext(ctr.targetLengthSectors), ctr.args);
    } catch (error) {
      if (!(error instanceof TableError || error instanceof RangeError)) throw error;
      this.note(`CTR of "${request.uuid}" refused: ${error.message}`);
      return { error: EINVAL };
    }
    const log = new DaemonLog({
      uuid: request.uuid,
      luid: request.luid,
      ctrString,
      backing,
      targetLengthSectors: ctr.targetLengthSectors,
    });
    this.logs.set(logKey(log.uuid, log.luid), log);
    return { error: 0 };
  }

  /** The context a backing log is built with: no leg flush callback, devices from the daemon. */
  private backingContext(targetLengthSectors: number): DirtyLogContext {
    const sizeFor = this.options.deviceSizeSectorsFor ?? defaultDeviceSizeSectors;
    return {
      scheduler: this.options.scheduler,
      targetLengthSectors,
      flushCallback: null,
      getDevice: (name, minimumSizeSectors = 0) =>
        this.options.getDevice(name, Math.max(minimumSizeSectors, sizeFor(targetLengthSectors))),
      raiseEvent: (reason) => this.note(`event: ${reason}`),
    };
  }

  /** The region of an 8-byte payload, or `-EINVAL` when it is out of range. */
  private oneRegion(log: DaemonLog, data: Uint8Array): number {
    const region = decodeUlogU64(data);
    return log.checkRegions([region]) === 0 ? Number(region) : EINVAL;
  }

  /**
   * The reply record. Its data always fits the reply rules: data too big for
   * the kernel (a long status) is refused by its encoder, in {@link handle},
   * which answers `-ENOSPC` without data.
   */
  private reply(request: UlogRequest, result: DaemonResult): UlogRequest {
    const reply = buildUlogReply(request, result);
    if (reply.error !== 0) this.stats.errorReplies++;
    return reply;
  }

  private note(text: string): void {
    this.options.onMessage?.(text);
  }
}

/** The length over the first all-digit argument (at least 1), or 0 when no argument is all digits. */
function estimateRegionCount(ctr: {
  targetLengthSectors: number;
  args: readonly string[];
}): number {
  const sizeWord = ctr.args.find((arg) => /^\d+$/.test(arg));
  if (sizeWord === undefined) return 0;
  return Math.ceil(ctr.targetLengthSectors / Math.max(1, Number(sizeWord)));
}

/** Requests a log answers only once resumed: its bitmaps mean nothing before. */
const DATA_PATH_TYPES: ReadonlySet<number> = new Set([
  UlogRequestType.IS_CLEAN,
  UlogRequestType.IN_SYNC,
  UlogRequestType.FLUSH,
  UlogRequestType.MARK_REGION,
  UlogRequestType.CLEAR_REGION,
  UlogRequestType.GET_RESYNC_WORK,
  UlogRequestType.SET_REGION_SYNC,
  UlogRequestType.IS_REMOTE_RECOVERING,
]);

function logKey(uuid: string, luid: bigint): string {
  return `${uuid}\u0000${luid}`;
}

/** A disk log's header and bitmap at 2-sector regions: the most any built-in log needs. */
function defaultDeviceSizeSectors(targetLengthSectors: number): number {
  const regionsMax = Math.ceil(targetLengthSectors / 2);
  const bitmapBytes = Math.ceil(regionsMax / 64) * 8;
  return Math.ceil((1024 + bitmapBytes) / 512);
}
