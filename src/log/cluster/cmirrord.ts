/**
 * LVM2's cluster mirror log daemon, cmirrord, as one process runs it
 * (reference userspace-and-cluster-logs.md §4): `local.c` (requests from
 * this node's kernel), `functions.c` (the logs and `do_request`) and,
 * through {@link CmirrordCluster}, `cluster.c`.
 *
 * Every node of a cluster runs one. Each `clustered-core` or
 * `clustered-disk` log has a replica on every node that resumed it and a
 * CPG named after its uuid; requests that change or read shared state are
 * multicast, applied by every member in the agreed order, and answered by
 * the lowest nodeid, which alone writes the disk log. See §5 for the
 * behaviours this keeps, the surprising ones included.
 *
 * It is single-threaded: {@link Cmirrord.doLocalWork} and
 * {@link Cmirrord.doClusterWork} are the poll loop's two callbacks, each a
 * {@link Blocking} computation that the caller runs to completion before
 * taking the next input (a disk write or the 3 s rejoin sleep blocks the
 * whole daemon).
 *
 * Ack-only replies: cmirrord answers CLEAR_REGION at once and NACKs a
 * request of type 0 with `kernel_ack`, a bare `cn_msg` whose `ack` is a
 * positive errno. The simulated transfer layer has no such path, so both
 * are sent as a full reply of the request's header with error 0 (or
 * -EAGAIN) and no data, which the kernel reads the same way (§1.5).
 */
import { assert } from '../../assert.js';
import type { BlockDevice } from '../../block/block-device.js';
import { type Blocking, runNonBlocking, waitFor } from '../../concurrency/blocking.js';
import { EAGAIN, EINVAL, ENOENT } from '../../errno.js';
import { TableError } from '../../table/table-error.js';
import type { Scheduler } from '../../world/scheduler.js';
import { TICKS_PER_SECOND } from '../../world/scheduler.js';
import {
  decodeUlogRegionSync,
  decodeUlogRegions,
  decodeUlogU64,
  encodeUlogRemoteRecovering,
  encodeUlogResyncWork,
  encodeUlogS64,
  encodeUlogU64,
} from '../userspace/ulog-binary-payloads.js';
import {
  ULOG_HEADER_BYTES,
  ULOG_HEADER_OFFSETS,
  ULOG_REPLY_PAYLOAD_BYTES_MAX,
} from '../userspace/ulog-constants.js';
import { UlogProtocolError } from '../userspace/ulog-protocol-error.js';
import {
  decodeUlogRequest,
  encodeUlogRequest,
  type UlogRequest,
} from '../userspace/ulog-request.js';
import { ULOG_REQUEST_TYPE_MAX, UlogRequestType } from '../userspace/ulog-request-type.js';
import { decodeUlogCtrRequest, encodeUlogStatus } from '../userspace/ulog-text-payloads.js';
import { isClogCtrRefusal, parseClogCtr } from './clog-ctr.js';
import { ClogDisk, clogDiskBufferBytes } from './clog-disk.js';
import type { ClogRequest } from './clog-request.js';
import { CMIRRORD_REJOIN_DELAY_TICKS } from './cluster-constants.js';
import { CmirrordCluster } from './cmirrord-cluster.js';
import type { CpgService } from './cpg.js';
import { LogC } from './log-c.js';

/** How a {@link Cmirrord} is built. */
export interface CmirrordOptions {
  readonly scheduler: Scheduler;
  /** This process's CPG service. */
  readonly cpg: CpgService;
  /** This process's pid (how it recognises its own join). */
  readonly pid: number;
  /** Opens a log device (`find_disk_path` and `open`); throws TableError when there is none. */
  readonly getDevice: (name: string, minimumSizeSectors: number) => BlockDevice;
  /** Hands one reply record (a `dm_ulog_request`) to this node's kernel. */
  readonly sendToKernel: (reply: Uint8Array) => void;
  /** Called when a CPG handle has something to dispatch: the poll loop should run `doClusterWork`. */
  readonly cpgReadable: () => void;
  /**
   * `local_resume`'s 3 s rejoin sleep (delay #2, §4.9). On by default, as
   * in cmirrord; off shows the stale-checkpoint race the sleep hides.
   */
  readonly rejoinDelay?: boolean;
  /** The most regions a CTR may ask for (a simulator resource limit; default 2^24). */
  readonly regionsMax?: number;
  /** `<major>:<minor>` of a log device for the status lines; default: its name. */
  readonly deviceNumber?: (name: string) => string;
  readonly onMessage?: (text: string) => void;
}

/** Counters of one daemon, for the benchmark. */
export interface CmirrordStats {
  /** Kernel requests by type code (index 0: type-0 "bad transmissions"). */
  readonly requestsByType: number[];
  /** Replies sent to the kernel. */
  kernelReplies: number;
  /** Requests the kernel sent that were ignored or refused undecoded. */
  malformedRequests: number;
  /** Times `local_resume` slept before joining. */
  rejoinSleeps: number;
}

const EMPTY = new Uint8Array(0);

/** The daemon (see the file comment). */
export class Cmirrord {
  readonly stats: CmirrordStats = {
    requestsByType: new Array<number>(ULOG_REQUEST_TYPE_MAX + 1).fill(0),
    kernelReplies: 0,
    malformedRequests: 0,
    rejoinSleeps: 0,
  };
  /** `log_list`: resumed and joined. */
  readonly logList: LogC[] = [];
  /** `log_pending_list`: constructed, or suspended, and not in the CPG. */
  readonly logPendingList: LogC[] = [];
  readonly cluster: CmirrordCluster;
  private readonly options: CmirrordOptions;

  constructor(options: CmirrordOptions) {
    this.options = options;
    this.cluster = new CmirrordCluster({
      service: options.cpg,
      pid: options.pid,
      readable: options.cpgReadable,
      functions: {
        doRequest: (request, server) => this.doRequest(request, server),
        kernelSend: (reply) => this.kernelSend(reply),
        getLog: (uuid, luid) => this.getLog(uuid, luid),
        clusterPostsuspend: (uuid, luid) => this.clusterPostsuspend(uuid, luid),
        note: (text) => this.note(text),
      },
    });
  }

  /** Disk log writes of every log, for the benchmark. */
  get diskWrites(): number {
    return [...this.logList, ...this.logPendingList].reduce(
      (sum, log) => sum + (log.disk?.writes ?? 0),
      0,
    );
  }

  /** `do_cluster_work`. */
  doClusterWork(): Blocking<void> {
    return this.cluster.doClusterWork();
  }

  /**
   * `do_local_work` for one record from the kernel (§4.3): local requests
   * answered from this node's replica, RESUME joined then multicast, CLEAR
   * acknowledged at once then multicast, the rest multicast and answered
   * when the server's response comes back.
   */
  *doLocalWork(record: Uint8Array): Blocking<void> {
    const request = this.kernelRecv(record);
    if (request === null) return;
    this.stats.requestsByType[request.requestType] =
      (this.stats.requestsByType[request.requestType] ?? 0) + 1;
    switch (request.requestType) {
      case UlogRequestType.CTR:
      case UlogRequestType.DTR:
      case UlogRequestType.GET_REGION_SIZE:
      case UlogRequestType.IN_SYNC:
      case UlogRequestType.GET_SYNC_COUNT:
      case UlogRequestType.STATUS_TABLE:
      case UlogRequestType.PRESUSPEND:
        this.kernelSend(yield* this.doRequest(request, false));
        return;
      case UlogRequestType.CLEAR_REGION:
        // kernel_ack(seq, 0) first; an error of the multicast is dropped (a FIXME in local.c).
        this.kernelSend({ ...request, data: EMPTY });
        this.cluster.clusterSend(request);
        return;
      case UlogRequestType.RESUME: {
        const error = yield* this.localResume(request);
        if (error !== 0) {
          // do_local_work sends the request back as it came: local_resume's error never reaches
          // u_rq->error, so the kernel reads a successful resume of a log that joined no CPG.
          this.kernelSend(request);
          return;
        }
        break;
      }
      default:
        break;
    }
    // IS_CLEAN, FLUSH, MARK_REGION, GET_RESYNC_WORK, SET_REGION_SYNC, STATUS_INFO, IS_REMOTE_RECOVERING, POSTSUSPEND, RESUME.
    const error = this.cluster.clusterSend(request);
    if (error !== 0) this.kernelSend({ ...request, error, data: EMPTY });
  }

  /**
   * The table-load path: CTR and GET_REGION_SIZE answered inside the call
   * (they never block), the reply returned instead of sent.
   */
  handleNow(record: Uint8Array): Uint8Array | null {
    let reply: Uint8Array | null = null;
    const send = this.sendOverride;
    this.sendOverride = (bytes) => {
      reply = bytes;
    };
    try {
      runNonBlocking(this.doLocalWork(record), 'a request on the table-load path');
    } finally {
      this.sendOverride = send;
    }
    return reply;
  }

  private sendOverride: ((bytes: Uint8Array) => void) | null = null;

  /** `kernel_recv`: type 0 is NACKed with -EAGAIN; an unknown type is ignored; a bad record refused. */
  private kernelRecv(record: Uint8Array): ClogRequest | null {
    if (record.length >= ULOG_HEADER_BYTES) {
      const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
      const type = view.getUint32(ULOG_HEADER_OFFSETS.requestType, true);
      if (type === 0) {
        this.stats.requestsByType[0] = (this.stats.requestsByType[0] ?? 0) + 1;
        this.note(
          `Bad transmission, requesting resend [${view.getUint32(ULOG_HEADER_OFFSETS.seq, true)}]`,
        );
        this.sendRaw(nack(record.subarray(0, ULOG_HEADER_BYTES)));
        return null;
      }
      if (type > ULOG_REQUEST_TYPE_MAX) {
        this.stats.malformedRequests++;
        this.note(`Invalid log request received (${type}), ignoring.`);
        return null;
      }
    }
    let request: UlogRequest;
    try {
      request = decodeUlogRequest(record);
    } catch (error) {
      if (!(error instanceof UlogProtocolError)) throw error;
      // cmirrord would read on regardless; a strict refusal keeps a bad kernel record harmless.
      this.stats.malformedRequests++;
      this.note(`Refused a kernel record: ${error.message}`);
      if (error.header !== null) {
        const reply = error.header.slice();
        const view = new DataView(reply.buffer);
        view.setInt32(ULOG_HEADER_OFFSETS.error, error.errno, true);
        view.setUint32(ULOG_HEADER_OFFSETS.dataSize, 0, true);
        this.sendRaw(reply);
      }
      return null;
    }
    return { ...request, originator: 0, pitServer: 0, response: false };
  }

  /**
   * `kernel_send`: the request's header back with error and data. What a
   * reply of each type may carry is the kernel's business (`fill_pkg`),
   * so a FLUSH answered with its own marks goes out as it is. cmirrord
   * also answers -ENOSPC for a record over its 1024-byte buffer; no
   * reply comes near it (the longest is a FLUSH's 256 bytes of marks
   * echoed), so here that is an invariant.
   */
  kernelSend(reply: ClogRequest): void {
    const { error, data } = reply;
    assert(
      data.length <= ULOG_REPLY_PAYLOAD_BYTES_MAX,
      `a ${data.length}-byte reply overruns cmirrord's reply buffer`,
    );
    // The header through the userspace codec as a payload-less type, then the real type and data.
    const header = encodeUlogRequest(
      {
        luid: reply.luid,
        uuid: reply.uuid,
        version: reply.version,
        error,
        seq: reply.seq,
        requestType: UlogRequestType.DTR,
        data: EMPTY,
      },
      { direction: 'reply' },
    );
    const record = new Uint8Array(ULOG_HEADER_BYTES + data.length);
    record.set(header);
    record.set(data, ULOG_HEADER_BYTES);
    const view = new DataView(record.buffer);
    view.setUint32(ULOG_HEADER_OFFSETS.requestType, reply.requestType, true);
    view.setUint32(ULOG_HEADER_OFFSETS.dataSize, data.length, true);
    this.sendRaw(record);
  }

  private sendRaw(record: Uint8Array): void {
    this.stats.kernelReplies++;
    if (this.sendOverride !== null) this.sendOverride(record);
    else this.options.sendToKernel(record);
  }

  /** `get_log`: the official list, by uuid and (unless 0) luid. */
  getLog(uuid: string, luid: bigint): LogC | undefined {
    return this.logList.find((log) => log.uuid === uuid && (luid === 0n || log.luid === luid));
  }

  /** `get_pending_log`. */
  getPendingLog(uuid: string, luid: bigint): LogC | undefined {
    return this.logPendingList.find(
      (log) => log.uuid === uuid && (luid === 0n || log.luid === luid),
    );
  }

  /**
   * `local_resume`: a pending log sleeps out the 3 s rejoin delay, joins
   * its CPG and becomes official.
   *
   * What the sleep hides (delay #2, §4.9, §5.7). A member snapshots a
   * joiner's checkpoint at the end of the next message it handles and
   * multicasts it once `cpg_dispatch` returns (`do_checkpoints`).
   * `cpg_dispatch(CS_DISPATCH_ALL)` drains every callback that has
   * arrived, so a member blocked inside a handler (the server writing its
   * log) still handles the joiner's leave before exporting, and
   * `cpg_leave_callback` drops the pending checkpoint. It goes stale only
   * when the joiner's leave and new join are sequenced before the
   * member's CHECKPOINT_READY yet reach that member after its dispatch
   * returned: its deliveries lag the others' by more than the joiner
   * takes to leave and join again. Then nothing stops it: the leave
   * finds nothing left to remove, and `import_checkpoint` checks only
   * the bitmap size, so the new session imports a state that misses
   * everything between the snapshot and its join. The sleep stretches a
   * rejoin to over 2 s (`t` counts whole seconds), and only for a suspend
   * and resume of one `log_c`: a DTR and a new CTR (a deactivation and
   * activation) or a restarted daemon starts from `delay` 0 and rejoins
   * at once. test/sim/cluster/cmirrord-stale-checkpoint.test.ts shows each case.
   */
  private *localResume(request: ClogRequest): Blocking<number> {
    if (this.getLog(request.uuid, request.luid) !== undefined) return 0;
    const log = this.getPendingLog(request.uuid, request.luid);
    if (log === undefined) {
      this.note('clog_resume called on log that is not official or pending');
      return EINVAL;
    }
    const scheduler = this.options.scheduler;
    if ((this.options.rejoinDelay ?? true) && log.delayTicks !== null) {
      // time(NULL) counts whole seconds: t = now - delay, and a t of 0, 1 or 2 sleeps 3 - t.
      const elapsed =
        Math.floor(scheduler.now() / TICKS_PER_SECOND) -
        Math.floor(log.delayTicks / TICKS_PER_SECOND);
      if (elapsed >= 0 && elapsed < CMIRRORD_REJOIN_DELAY_TICKS / TICKS_PER_SECOND) {
        this.stats.rejoinSleeps++;
        const sleepTicks = CMIRRORD_REJOIN_DELAY_TICKS - elapsed * TICKS_PER_SECOND;
        yield* waitFor<void>((resume) => {
          scheduler.schedule(sleepTicks, 'cmirrord.rejoin_sleep', () => resume(undefined));
        });
      }
    }
    const error = this.cluster.createClusterCpg(request.uuid, request.luid);
    if (error !== 0) {
      this.note('clog_resume:  Failed to create cluster CPG');
      return error;
    }
    this.logPendingList.splice(this.logPendingList.indexOf(log), 1);
    this.logList.push(log);
    return 0;
  }

  /** `cluster_postsuspend`: `resume_override` 0 and back to the pending list. */
  private clusterPostsuspend(uuid: string, luid: bigint): void {
    const log = this.getLog(uuid, luid);
    if (log === undefined) return;
    log.resumeOverride = 0;
    this.logList.splice(this.logList.indexOf(log), 1);
    this.logPendingList.push(log);
  }

  /**
   * `do_request`: the handler's error into the reply (data cleared on
   * error). A handler that returns no `data` set no `data_size` in
   * cmirrord (FLUSH, PRESUSPEND, POSTSUSPEND, RESUME, DTR): the request's
   * own payload stays in the reply. `server` decides whether a FLUSH
   * writes the disk log.
   */
  *doRequest(request: ClogRequest, server: boolean): Blocking<ClogRequest> {
    let result: { error: number; data?: Uint8Array };
    try {
      result = yield* this.dispatch(request, server);
    } catch (error) {
      if (!(error instanceof UlogProtocolError)) throw error;
      result = { error: error.errno };
    }
    return {
      ...request,
      error: result.error,
      data: result.error === 0 ? (result.data ?? request.data) : EMPTY,
    };
  }

  private *dispatch(
    request: ClogRequest,
    server: boolean,
  ): Blocking<{ error: number; data?: Uint8Array }> {
    const type = request.requestType;
    if (type === UlogRequestType.CTR) return this.clogCtr(request);
    if (type === UlogRequestType.DTR) return this.clogDtr(request);
    const official = this.getLog(request.uuid, request.luid);
    const any = official ?? this.getPendingLog(request.uuid, request.luid);
    switch (type) {
      case UlogRequestType.GET_REGION_SIZE:
        return any === undefined
          ? { error: EINVAL }
          : { error: 0, data: encodeUlogU64(any.regionSize) };
      case UlogRequestType.GET_SYNC_COUNT:
        return any === undefined
          ? { error: EINVAL }
          : { error: 0, data: encodeUlogU64(any.getSyncCount()) };
      case UlogRequestType.STATUS_INFO:
      case UlogRequestType.STATUS_TABLE: {
        if (any === undefined) return { error: EINVAL };
        const number = this.deviceNumber(any);
        const text =
          type === UlogRequestType.STATUS_INFO ? any.statusInfo(number) : any.statusTable(number);
        return { error: 0, data: encodeUlogStatus(text) };
      }
      default:
        break;
    }
    if (official === undefined) return { error: EINVAL };
    return yield* this.dispatchOfficial(official, request, server);
  }

  private *dispatchOfficial(
    log: LogC,
    request: ClogRequest,
    server: boolean,
  ): Blocking<{ error: number; data?: Uint8Array }> {
    switch (request.requestType) {
      case UlogRequestType.PRESUSPEND:
        log.presuspend();
        return { error: 0 };
      case UlogRequestType.POSTSUSPEND:
        this.cluster.destroyClusterCpg(request.uuid);
        log.postsuspend(this.options.scheduler.now());
        return { error: 0 };
      case UlogRequestType.RESUME:
        return { error: yield* log.resume((text) => this.note(text)) };
      case UlogRequestType.FLUSH:
        // The payload (integrated_flush marks) is ignored: cmirrord never adopted version 3.
        return { error: yield* log.flush(server) };
      case UlogRequestType.GET_RESYNC_WORK: {
        const work = log.getResyncWork(request.originator);
        return { error: 0, data: encodeUlogResyncWork(work) };
      }
      case UlogRequestType.MARK_REGION:
      case UlogRequestType.CLEAR_REGION: {
        const regions = decodeUlogRegions(request.data);
        if (regions.some((region) => log.checkRegion(region) !== 0)) return { error: EINVAL };
        for (const region of regions) {
          if (request.requestType === UlogRequestType.MARK_REGION)
            log.markRegion(Number(region), request.originator);
          else log.clearRegion(Number(region), request.originator);
        }
        return { error: 0, data: EMPTY };
      }
      case UlogRequestType.SET_REGION_SYNC: {
        const sync = decodeUlogRegionSync(request.data);
        if (log.checkRegion(sync.region) !== 0) return { error: EINVAL };
        log.setRegionSync(Number(sync.region), sync.inSync !== 0n);
        return { error: 0, data: EMPTY };
      }
      default:
        return this.regionQuery(log, request);
    }
  }

  /** IS_CLEAN, IN_SYNC and IS_REMOTE_RECOVERING: one region in, an answer out. */
  private regionQuery(log: LogC, request: ClogRequest): { error: number; data?: Uint8Array } {
    const region = decodeUlogU64(request.data);
    if (log.checkRegion(region) !== 0) return { error: EINVAL };
    switch (request.requestType) {
      case UlogRequestType.IS_CLEAN:
        return { error: 0, data: encodeUlogS64(log.isClean(Number(region))) };
      case UlogRequestType.IN_SYNC:
        return { error: 0, data: encodeUlogS64(log.inSyncAnswer(Number(region))) };
      case UlogRequestType.IS_REMOTE_RECOVERING:
        return {
          error: 0,
          data: encodeUlogRemoteRecovering(log.isRemoteRecovering(Number(region))),
        };
      default:
        this.note(`Unknown request ${request.requestType}`);
        return { error: EINVAL };
    }
  }

  /**
   * `clog_ctr`: a pending log. At version ≥ 2 a line whose type word is
   * `clustered-disk` is answered with its first argument as the device
   * name (§1.3), whatever `_clog_ctr` made of the arguments: a
   * `clustered-disk 1024` line (a core log by its arguments) names
   * "1024", a `clustered-core <dev> …` line (a disk log) names nothing.
   *
   * cmirrord looks the device path up (`find_disk_path`) right after the
   * argument count, before the region size is parsed or a duplicate is
   * looked for; the simulator opens it after both, because it opens (and
   * may create) the device at the size the region count needs. Only a
   * line with two faults at once gets a different errno.
   */
  private clogCtr(request: ClogRequest): { error: number; data?: Uint8Array } {
    const ctrString = decodeUlogCtrRequest(request.data);
    const parsed = parseClogCtr(ctrString, { regionsMax: this.options.regionsMax ?? 1 << 24 });
    if (isClogCtrRefusal(parsed)) {
      this.note(`${parsed.message}; Failed to create cluster log (${request.uuid})`);
      return { error: parsed.error };
    }
    if (this.getLog(request.uuid, request.luid) ?? this.getPendingLog(request.uuid, request.luid)) {
      this.note(`[${request.uuid}/${request.luid}] Log already exists, unable to create.`);
      return { error: EINVAL };
    }
    let disk: ClogDisk | null = null;
    if (parsed.device !== null) {
      try {
        const sectors = clogDiskBufferBytes(parsed.regionCount) / 512;
        disk = new ClogDisk(this.options.getDevice(parsed.device, sectors), parsed.regionCount);
      } catch (error) {
        if (!(error instanceof TableError)) throw error;
        this.note(`Unable to find path to device ${parsed.device}: ${error.message}`);
        return { error: ENOENT };
      }
    }
    this.logPendingList.push(
      new LogC({ uuid: request.uuid, luid: request.luid, args: parsed, disk }),
    );
    const [, typeWord, firstArgument = ''] = ctrString.split(' ');
    if (request.version > 1 && typeWord === 'clustered-disk') {
      return { error: 0, data: new TextEncoder().encode(`${firstArgument}\u0000`) };
    }
    return { error: 0, data: EMPTY };
  }

  /** `clog_dtr`: a log still official (no suspend first) leaves its CPG; then it is freed. */
  private clogDtr(request: ClogRequest): { error: number } {
    let log = this.getLog(request.uuid, request.luid);
    let list = this.logList;
    if (log !== undefined) {
      this.note(`[${request.uuid}] DTR before SUS: leaving CPG`);
      this.cluster.destroyClusterCpg(request.uuid);
    } else {
      log = this.getPendingLog(request.uuid, request.luid);
      list = this.logPendingList;
      if (log === undefined) {
        this.note('clog_dtr called on log that is not official or pending');
        return { error: EINVAL };
      }
    }
    list.splice(list.indexOf(log), 1);
    return { error: 0 };
  }

  private deviceNumber(log: LogC): string {
    const name = log.deviceName ?? '';
    return this.options.deviceNumber?.(name) ?? name;
  }

  private note(text: string): void {
    this.options.onMessage?.(text);
  }
}

/** `kernel_ack(seq, EAGAIN)` as a full reply: the request's header, error -EAGAIN, no data. */
function nack(header: Uint8Array): Uint8Array {
  const reply = header.slice();
  const view = new DataView(reply.buffer);
  view.setInt32(ULOG_HEADER_OFFSETS.error, EAGAIN, true);
  view.setUint32(ULOG_HEADER_OFFSETS.dataSize, 0, true);
  return reply;
}
