/**
 * cmirrord's `cluster.c` (reference userspace-and-cluster-logs.md
 * §4.4–§4.10): one CPG per log; every member runs every multicast request
 * on its replica, the lowest nodeid answers by multicasting the response,
 * and the originator hands it to its kernel; joiners get their state from
 * checkpoints every valid member sends; an orderly server change resends
 * the unanswered requests, a crash does not.
 *
 * Callbacks are only queued by `cpg_dispatch` and then handled one at a
 * time by {@link CmirrordCluster.doClusterWork}, so that a handler may
 * block on the log device, as cmirrord's single thread does.
 */
import { assert } from '../../assert.js';
import type { Blocking } from '../../concurrency/blocking.js';
import { EBADE, EEXIST, EINVAL, ENOENT } from '../../errno.js';
import { UlogRequestType } from '../userspace/ulog-request-type.js';
import { decodeClogCheckpoint, encodeClogCheckpoint } from './clog-checkpoint.js';
import { ClogCpg, type ClogCpgEvent } from './clog-cpg.js';
import {
  type ClogRequest,
  clogRequestTypeName,
  decodeClogRequest,
  encodeClogRequest,
} from './clog-request.js';
import { ClogRequestError } from './clog-request-error.js';
import {
  CLUSTER_ID_NONE,
  ClogCpgState,
  DM_ULOG_CHECKPOINT_READY,
  EPERM,
  LogState,
  MAX_CHECKPOINT_REQUESTERS,
} from './cluster-constants.js';
import {
  CPG_MAX_NAME_LENGTH,
  type CpgAddress,
  type CpgService,
  CS_ERR_BAD_HANDLE,
  CS_OK,
} from './cpg.js';
import type { LogC } from './log-c.js';

/** What the cluster side needs of the rest of the daemon (functions.c and local.c). */
export interface CmirrordFunctions {
  /** `do_request`: the request's reply (error and data set). */
  doRequest(request: ClogRequest, server: boolean): Blocking<ClogRequest>;
  /** `kernel_send`. */
  kernelSend(reply: ClogRequest): void;
  /** `get_log(uuid, luid)` on the official list. */
  getLog(uuid: string, luid: bigint): LogC | undefined;
  /** `cluster_postsuspend`: back to the pending list, `resume_override` 0. */
  clusterPostsuspend(uuid: string, luid: bigint): void;
  note(text: string): void;
}

/** Counters of the cluster side. */
export interface CmirrordClusterStats {
  messagesSent: number;
  messagesReceived: number;
  /** Messages dropped because they could not be decoded. */
  malformedMessages: number;
  checkpointsSent: number;
  checkpointsImported: number;
  /** Requests multicast again after an orderly server change. */
  resentRequests: number;
  /** Responses that matched nothing in the working list. */
  unmatchedResponses: number;
}

/** cluster.c (see the file comment). */
export class CmirrordCluster {
  readonly stats: CmirrordClusterStats = {
    messagesSent: 0,
    messagesReceived: 0,
    malformedMessages: 0,
    checkpointsSent: 0,
    checkpointsImported: 0,
    resentRequests: 0,
    unmatchedResponses: 0,
  };
  /** `clog_cpg_list`. */
  readonly cpgs: ClogCpg[] = [];
  /** `my_cluster_id`: learned from the first join of our own pid (0xDEAD before). */
  myClusterId = CLUSTER_ID_NONE;
  private readonly service: CpgService;
  private readonly pid: number;
  private readonly functions: CmirrordFunctions;
  private readonly readable: () => void;

  constructor(options: {
    readonly service: CpgService;
    readonly pid: number;
    readonly functions: CmirrordFunctions;
    /** Called when any handle has something to dispatch (the poll loop's wake-up). */
    readonly readable: () => void;
  }) {
    this.service = options.service;
    this.pid = options.pid;
    this.functions = options.functions;
    this.readable = options.readable;
  }

  /** `create_cluster_cpg`: initialize and join; -EEXIST, or -EPERM when corosync refuses. */
  createClusterCpg(uuid: string, luid: bigint): number {
    const name = uuid.slice(0, CPG_MAX_NAME_LENGTH);
    if (this.findByName(name) !== undefined) {
      this.functions.note(`Log entry already exists: ${uuid}`);
      return EEXIST;
    }
    let entry: ClogCpg | null = null;
    const result = this.service.initialize({
      deliver: (_handle, _group, nodeid, _pid, message) => {
        entry?.inbox.push({ kind: 'message', nodeid, message });
      },
      confchg: (_handle, _group, members, left, joined) => {
        entry?.inbox.push({ kind: 'confchg', members, left, joined });
      },
    });
    if (result.handle === null) {
      this.functions.note('cpg_initialize failed:  Cannot join cluster');
      return EPERM;
    }
    entry = new ClogCpg({ name, luid, handle: result.handle });
    if (result.handle.join(name) !== CS_OK) {
      this.functions.note('cpg_join failed:  Cannot join cluster');
      result.handle.finalize();
      return EPERM;
    }
    result.handle.onReadable = this.readable;
    this.cpgs.push(entry);
    return 0;
  }

  /** `destroy_cluster_cpg`: pending checkpoints out first, then LEAVING and `cpg_leave`. */
  destroyClusterCpg(uuid: string): void {
    for (const entry of [...this.cpgs]) {
      if (entry.name !== uuid.slice(0, CPG_MAX_NAME_LENGTH)) continue;
      this.doCheckpoints(entry);
      const state = entry.state;
      entry.cpgState = ClogCpgState.INVALID;
      entry.state = ClogCpgState.LEAVING;
      // A valid log may be replaying its startup list right now: only an invalid one drops it.
      if (entry.startupList.length > 0 && state !== ClogCpgState.VALID)
        entry.startupList.length = 0;
      if (entry.handle.leave(entry.name) !== CS_OK) this.functions.note('Error leaving CPG!');
    }
  }

  /**
   * `cluster_send`: -ENOENT without a CPG for the uuid, -EINVAL once its
   * leave started, -EBADE if the multicast fails; 0 when sent. The luid is
   * cleared: it means nothing to other nodes.
   */
  clusterSend(request: ClogRequest): number {
    const entry = this.findByName(request.uuid.slice(0, CPG_MAX_NAME_LENGTH));
    if (entry === undefined) return ENOENT;
    if (entry.cpgState !== ClogCpgState.VALID) return EINVAL;
    const bytes = encodeClogRequest({ ...request, luid: 0n });
    if (entry.handle.mcastJoined('agreed', bytes) !== CS_OK) {
      this.functions.note('cpg_mcast_joined error');
      return EBADE;
    }
    this.stats.messagesSent++;
    return 0;
  }

  /** `do_cluster_work`: every CPG dispatched, each callback handled to completion, then checkpoints and resends. */
  *doClusterWork(): Blocking<void> {
    for (const entry of [...this.cpgs]) {
      for (;;) {
        const status = entry.handle.dispatch('one');
        if (status !== CS_OK) {
          // After our leave the handle is gone: expected, and silenced (52aa3dbca).
          const expected = status === CS_ERR_BAD_HANDLE && entry.state !== ClogCpgState.VALID;
          if (!expected) this.functions.note(`cpg_dispatch failed: ${status}`);
          break;
        }
        const event = entry.inbox.shift();
        if (event === undefined) break;
        yield* this.handleEvent(entry, event);
        if (entry.freeMe) break;
      }
      if (entry.freeMe) continue;
      this.doCheckpoints(entry);
      this.resendRequests(entry);
    }
  }

  /** Whether a CPG of this daemon has callbacks waiting (for the poll loop). */
  get readablePending(): boolean {
    return this.cpgs.some((entry) => entry.inbox.length > 0);
  }

  private *handleEvent(entry: ClogCpg, event: ClogCpgEvent): Blocking<void> {
    if (event.kind === 'message') {
      yield* this.messageCallback(entry, event.nodeid, event.message);
      return;
    }
    if (event.joined.length + event.left.length > 1) {
      this.functions.note(`[${entry.name}]  More than one node joining/leaving`);
    }
    const joined = event.joined[0];
    if (joined !== undefined) this.joinCallback(entry, joined, event.members);
    else yield* this.leaveCallback(entry, event.left[0]!, event.members);
  }

  /** `cpg_message_callback`. */
  private *messageCallback(entry: ClogCpg, nodeid: number, bytes: Uint8Array): Blocking<void> {
    this.stats.messagesReceived++;
    let request: ClogRequest;
    try {
      request = decodeClogRequest(bytes);
    } catch (error) {
      if (!(error instanceof ClogRequestError)) throw error;
      this.stats.malformedMessages++;
      this.functions.note(`[${entry.name}] Dropped a message from ${nodeid}: ${error.message}`);
      return;
    }
    const type = request.requestType;
    const own = nodeid === this.myClusterId;
    if (
      own &&
      !request.response &&
      type !== UlogRequestType.RESUME &&
      type !== UlogRequestType.CLEAR_REGION &&
      type !== DM_ULOG_CHECKPOINT_READY
    ) {
      entry.workingList.push(request);
    }
    if (type === UlogRequestType.POSTSUSPEND && !own) {
      if (nodeid < this.myClusterId) {
        // The server announced its leave: resend what it has not answered, once nobody lower is leaving.
        if (nodeid === entry.lowestId) entry.resendRequests = true;
        entry.delay++;
      }
      return;
    }
    // Messages between our cpg_leave and our own confchg: we cannot answer any more.
    if (entry.state === ClogCpgState.LEAVING) return;
    const server = this.myClusterId === entry.lowestId;
    if (type === DM_ULOG_CHECKPOINT_READY) {
      if (this.myClusterId === request.originator)
        yield* this.checkpointReady(entry, request, nodeid);
      return;
    }
    if (request.response) {
      this.handleClusterResponse(entry, request);
    } else {
      const stamped = { ...request, originator: nodeid };
      if (entry.state === ClogCpgState.INVALID) {
        entry.startupList.push({
          kind: 'request',
          request: { ...stamped, pitServer: entry.lowestId },
        });
        return;
      }
      yield* this.handleClusterRequest(entry, stamped, server);
    }
    this.queueCheckpoints(entry, request);
  }

  /** The snapshot after the next message handled once the log is resumed (§4.8 item 3). */
  private queueCheckpoints(entry: ClogCpg, request: ClogRequest): void {
    while (entry.checkpointRequesters.length > 0) {
      if (this.functions.getLog(request.uuid, 0n)?.state !== LogState.RESUMED) break;
      const requester = entry.checkpointRequesters.at(-1)!;
      const prepared = this.prepareCheckpoint(entry, requester);
      if (prepared === null) break;
      entry.checkpointRequesters.pop();
      entry.checkpointList.unshift(prepared);
    }
  }

  private *checkpointReady(entry: ClogCpg, request: ClogRequest, from: number): Blocking<void> {
    if (entry.state !== ClogCpgState.INVALID) {
      this.functions.note(`[${entry.name}] Redundant checkpoint from ${from} ignored.`);
      return;
    }
    const log = this.functions.getLog(entry.name, entry.luid);
    const error = log === undefined ? EINVAL : log.pullState(decodeClogCheckpoint(request.data));
    if (error !== 0) {
      // cmirrord sends itself SIGUSR1 and stays INVALID: requests to the log hang.
      this.functions.note(`[${entry.name}] Failed to import checkpoint from ${from}`);
      return;
    }
    this.stats.checkpointsImported++;
    this.functions.note(`[${entry.name}] Checkpoint data received from ${from}.  Log is now valid`);
    entry.state = ClogCpgState.VALID;
    yield* this.flushStartupList(entry);
  }

  /** `handle_cluster_request`: every node runs it; the server answers (not RESUME, CLEAR, POSTSUSPEND). */
  private *handleClusterRequest(
    entry: ClogCpg,
    request: ClogRequest,
    server: boolean,
  ): Blocking<void> {
    assert(!request.response, 'a response handled as a request');
    if (request.requestType === UlogRequestType.RESUME) {
      // Only the originator resumes: a local CPG join followed by a cluster action.
      if (request.originator !== this.myClusterId) return;
      this.functions.kernelSend(yield* this.functions.doRequest(request, server));
      return;
    }
    const reply = yield* this.functions.doRequest(request, server);
    const type = request.requestType;
    if (!server || type === UlogRequestType.CLEAR_REGION || type === UlogRequestType.POSTSUSPEND)
      return;
    const error = this.clusterSend({ ...reply, response: true });
    if (error !== 0) this.functions.note(`[${entry.name}] cluster_send failed: ${error}`);
  }

  /** `handle_cluster_response`: the originator matches the kernel seq in its working list. */
  private handleClusterResponse(entry: ClogCpg, response: ClogRequest): void {
    if (response.originator !== this.myClusterId) return;
    const index = entry.workingList.findIndex((request) => request.seq === response.seq);
    if (index < 0) {
      this.stats.unmatchedResponses++;
      this.functions.note(
        `[${entry.name}] No match for cluster response: ${clogRequestTypeName(response.requestType)}:${response.seq}`,
      );
      return;
    }
    entry.workingList.splice(index, 1);
    this.functions.kernelSend({ ...response, response: false });
  }

  /** `cpg_join_callback`. */
  private joinCallback(entry: ClogCpg, joined: CpgAddress, members: readonly CpgAddress[]): void {
    if (this.myClusterId === CLUSTER_ID_NONE && joined.pid === this.pid)
      this.myClusterId = joined.nodeid;
    if (members.length === 1) {
      entry.lowestId = joined.nodeid;
      entry.state = ClogCpgState.VALID;
    }
    if (joined.nodeid !== this.myClusterId) {
      if (
        entry.startupList.length === 0 &&
        entry.state === ClogCpgState.VALID &&
        entry.checkpointRequesters.length < MAX_CHECKPOINT_REQUESTERS
      ) {
        entry.checkpointRequesters.push(joined.nodeid);
      } else {
        entry.startupList.push({ kind: 'member-join', nodeid: joined.nodeid });
      }
    }
    entry.lowestId = lowestOf(members);
  }

  /** `cpg_leave_callback`. */
  private *leaveCallback(
    entry: ClogCpg,
    left: CpgAddress,
    members: readonly CpgAddress[],
  ): Blocking<void> {
    if (this.myClusterId === left.nodeid) this.finishOwnLeave(entry);
    const pending = entry.checkpointList.findIndex(
      (checkpoint) => checkpoint.requester === left.nodeid,
    );
    if (pending >= 0) {
      entry.checkpointList.splice(pending, 1);
      this.functions.note(
        `[${entry.name}] Removing pending checkpoint (${left.nodeid} is leaving)`,
      );
    }
    for (let index = entry.startupList.length - 1; index >= 0; index--) {
      const item = entry.startupList[index]!;
      if (item.kind === 'member-join' && item.nodeid === left.nodeid)
        entry.startupList.splice(index, 1);
    }
    const requesters = entry.checkpointRequesters.filter((nodeid) => nodeid !== left.nodeid);
    entry.checkpointRequesters.splice(0, entry.checkpointRequesters.length, ...requesters);
    if (left.nodeid < this.myClusterId) {
      entry.delay = Math.max(0, entry.delay - 1);
      if (entry.delay === 0 && entry.workingList.length === 0) entry.resendRequests = false;
    }
    if (members.length === 0) {
      entry.lowestId = CLUSTER_ID_NONE;
      return;
    }
    entry.lowestId = lowestOf(members);
    if (entry.state !== ClogCpgState.INVALID || entry.freeMe) return;
    // Every member that could send a checkpoint left: the first joiner takes over.
    const joiners = entry.startupList.filter((item) => item.kind === 'member-join').length;
    if (1 + joiners === members.length) {
      entry.state = ClogCpgState.VALID;
      yield* this.flushStartupList(entry);
    }
  }

  /** Our own leave: the log back to pending, the POSTSUSPEND answered, the handle finalized. */
  private finishOwnLeave(entry: ClogCpg): void {
    this.cpgs.splice(this.cpgs.indexOf(entry), 1);
    this.functions.clusterPostsuspend(entry.name, entry.luid);
    for (const request of entry.workingList.splice(0)) {
      if (request.requestType === UlogRequestType.POSTSUSPEND) this.functions.kernelSend(request);
    }
    entry.handle.finalize();
    entry.freeMe = true;
    entry.lowestId = CLUSTER_ID_NONE;
    entry.state = ClogCpgState.INVALID;
  }

  /** `flush_startup_list`: stored requests replayed as the server of their time; joiners get checkpoints. */
  private *flushStartupList(entry: ClogCpg): Blocking<void> {
    for (
      let item = entry.startupList.shift();
      item !== undefined;
      item = entry.startupList.shift()
    ) {
      if (item.kind === 'member-join') {
        const prepared = this.prepareCheckpoint(entry, item.nodeid);
        if (prepared === null)
          this.functions.note(`Failed to prepare checkpoint for ${item.nodeid}!!!`);
        else entry.checkpointList.unshift(prepared);
        continue;
      }
      yield* this.handleClusterRequest(
        entry,
        item.request,
        item.request.pitServer === this.myClusterId,
      );
    }
  }

  private prepareCheckpoint(entry: ClogCpg, requester: number) {
    if (entry.state !== ClogCpgState.VALID) {
      this.functions.note(
        `Forced to refuse checkpoint for nodeid ${requester} - log not valid yet`,
      );
      return null;
    }
    const log = this.functions.getLog(entry.name, entry.luid);
    if (log === undefined) return null;
    return { requester, checkpoint: log.pushState() };
  }

  /** `do_checkpoints`: every pending checkpoint multicast as CHECKPOINT_READY, then dropped. */
  private doCheckpoints(entry: ClogCpg): void {
    for (const pending of entry.checkpointList.splice(0)) {
      const error = this.clusterSend({
        originator: pending.requester,
        pitServer: 0,
        luid: 0n,
        uuid: entry.name,
        version: 0,
        error: 0,
        seq: this.myClusterId,
        requestType: DM_ULOG_CHECKPOINT_READY,
        response: false,
        data: encodeClogCheckpoint(pending.checkpoint),
      });
      if (error === 0) this.stats.checkpointsSent++;
      else this.functions.note(`Failed to send checkpoint ready notice: ${error}`);
    }
  }

  /** `resend_requests`: after an orderly server change, the working list again (SET_REGION_SYNC just answered). */
  private resendRequests(entry: ClogCpg): void {
    if (!entry.resendRequests || entry.delay > 0 || entry.state !== ClogCpgState.VALID) return;
    entry.resendRequests = false;
    for (const request of entry.workingList.splice(0)) {
      if (request.uuid.slice(0, CPG_MAX_NAME_LENGTH) !== entry.name) continue;
      if (request.requestType === UlogRequestType.SET_REGION_SYNC) {
        // Everyone applied it already: only the reply was lost with the old server.
        this.functions.kernelSend({ ...request, data: new Uint8Array(0) });
        continue;
      }
      this.stats.resentRequests++;
      if (this.clusterSend(request) !== 0) this.functions.note('Failed resend');
    }
  }

  private findByName(name: string): ClogCpg | undefined {
    return this.cpgs.find((entry) => entry.name === name);
  }
}

function lowestOf(members: readonly CpgAddress[]): number {
  let lowest = members[0]!.nodeid;
  for (const member of members) if (member.nodeid < lowest) lowest = member.nodeid;
  return lowest;
}
