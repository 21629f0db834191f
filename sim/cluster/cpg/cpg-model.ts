/**
 * The simulated corosync CPG service of a cluster (reference
 * userspace-and-cluster-logs.md §4.10): what cmirrord relies on, and
 * nothing it does not.
 *
 * - **Agreed order.** The model is the sequencer: every multicast and
 *   every membership change of a group gets the next position in one
 *   total order at the instant it is requested, and every member receives
 *   the group's events in that order. Latency is drawn per delivery from
 *   the receiving node's stream `cpg.latency.<nodeid>`, but a later event
 *   never arrives before an earlier one at the same member.
 * - **Virtual synchrony.** A membership change is an event of the same
 *   order, so it falls at the same point of every member's stream: a
 *   member receives exactly the messages sequenced while it is in the
 *   view, a joiner every message after its join, a leaver every message
 *   before its leave and then its own confchg.
 * - **Self-delivery.** The sender is a member and receives its own
 *   messages.
 * - **Handle states** (corosync's exec/cpg.c): a handle is joining until
 *   its own join confchg reaches its node and leaving until its own leave
 *   confchg does; `cpg_mcast_joined` is allowed while joining (the message
 *   follows the join in the order) and refused while leaving. Confchg
 *   member lists are sorted by nodeid then pid, as corosync keeps its
 *   process list.
 * - **Failures.** `nodeDown` (every process of a node, reason NODEDOWN),
 *   a process's exit (PROCDOWN), an orderly leave (LEAVE), and `reset`,
 *   a power cut of the whole cluster. A dead process receives nothing
 *   more; what it multicast before it died was already sequenced and
 *   reaches every survivor.
 * - Node failures of one instant leave in one confchg, as corosync
 *   reports the nodes lost in one ring change; every other change is its
 *   own confchg (`mergeMembershipChanges` sets the rule).
 * - A node's deliveries can be made late ({@link CpgModel.setDeliveryDelayTicks}):
 *   a loaded node whose corosync hands it the agreed order behind the
 *   others, while its own multicasts are still sequenced when it sends them.
 *
 * @example
 * ```ts
 * const cpg = new CpgModel({ scheduler, random });
 * const service = cpg.service(1, 4242); // node 1, pid 4242
 * const { handle } = service.initialize(callbacks);
 * handle!.join('log-uuid');
 * handle!.mcastJoined('agreed', bytes);
 * // later, from the poll loop: handle.dispatch('all')
 * ```
 */
import { assert } from '../../../src/assert.js';
import { drawLatencyTicks, type LatencyModel } from '../../../src/block/latency.js';
import {
  type CpgAddress,
  type CpgCallbacks,
  type CpgInitializeResult,
  CpgReason,
  type CpgReasonCode,
  type CpgService,
  CS_ERR_LIBRARY,
  CS_OK,
} from '../../../src/log/cluster/cpg.js';
import type { RandomSource, RandomStream } from '../../../src/world/random-stream.js';
import type { ScheduledEvent, Scheduler } from '../../../src/world/scheduler.js';
import type { CpgConfchgEvent, CpgEvent } from './cpg-event.js';
import { CpgGroup, type PendingMembershipChange } from './cpg-group.js';
import {
  type CpgModelOptions,
  type CpgModelStats,
  checkCpgModelOptions,
} from './cpg-model-options.js';
import { type CpgHandleOwner, SimCpgHandle, type SimCpgJoinRefusal } from './sim-cpg-handle.js';

/** The CPG service as one process (`nodeid`, `pid`) reaches it. */
export interface CpgProcessService extends CpgService {
  readonly nodeid: number;
  readonly pid: number;
  /**
   * The process exited or was killed: every handle it had is gone, and
   * the other members of its groups see it leave with reason PROCDOWN.
   * Idempotent.
   */
  processExited(): void;
}

/** The simulated CPG service (see the file comment). */
export class CpgModel {
  readonly stats: CpgModelStats = {
    messagesMulticast: 0,
    bytesMulticast: 0,
    messageDeliveries: 0,
    bytesDelivered: 0,
    confchgs: 0,
    confchgDeliveries: 0,
    mcastRefused: 0,
  };
  private readonly scheduler: Scheduler;
  private readonly random: RandomSource;
  private readonly latency: LatencyModel;
  private readonly merge: 'none' | 'node-failures' | 'all';
  private readonly recordHistory: boolean;
  private readonly groups = new Map<string, CpgGroup>();
  private readonly histories = new Map<string, CpgEvent[]>();
  /** Every live handle, by node. */
  private readonly handlesByNode = new Map<number, Set<SimCpgHandle>>();
  private readonly latencyStreams = new Map<number, RandomStream>();
  private readonly downNodes = new Set<number>();
  /** Extra delivery delay per node ({@link setDeliveryDelayTicks}). */
  private readonly deliveryDelays = new Map<number, number>();
  /** The scheduled flush of merged membership changes, per group. */
  private readonly flushEvents = new Map<string, ScheduledEvent>();
  private sequenceNext = 0;
  /** Bumped by `reset`: services of processes from before the power cut are dead. */
  private boot = 0;
  private readonly owner: CpgHandleOwner;

  constructor(options: CpgModelOptions) {
    this.latency = checkCpgModelOptions(options);
    this.scheduler = options.scheduler;
    this.random = options.random;
    const merge = options.mergeMembershipChanges ?? 'node-failures';
    this.merge = merge === true ? 'all' : merge === false ? 'none' : merge;
    this.recordHistory = options.recordHistory ?? false;
    this.owner = {
      scheduler: this.scheduler,
      requestJoin: (handle, group) =>
        this.requestChange(group, { kind: 'join', handle, reason: CpgReason.JOIN }),
      requestLeave: (handle) => this.depart(handle, CpgReason.LEAVE),
      multicast: (handle, message) => this.multicast(handle, message),
      finalized: (handle) => this.forget(handle, CpgReason.PROCDOWN),
      dispatched: (event) => this.countDispatch(event),
      refused: () => {
        this.stats.mcastRefused++;
      },
      joinRefusal: (handle, group) => this.joinRefusal(handle, group),
    };
  }

  /**
   * The service as process `pid` on node `nodeid` reaches it. A pid may
   * have only one service at a time (a restarted process gets a new pid).
   */
  service(nodeid: number, pid: number): CpgProcessService {
    checkId(nodeid, 'nodeid');
    checkId(pid, 'pid');
    const boot = this.boot;
    let exited = false;
    const handles: SimCpgHandle[] = [];
    return {
      nodeid,
      pid,
      initialize: (callbacks: CpgCallbacks): CpgInitializeResult => {
        if (exited || boot !== this.boot || this.downNodes.has(nodeid)) {
          return { error: CS_ERR_LIBRARY, handle: null };
        }
        const handle = new SimCpgHandle({ owner: this.owner, callbacks, nodeid, pid });
        handles.push(handle);
        this.nodeHandles(nodeid).add(handle);
        return { error: CS_OK, handle };
      },
      processExited: () => {
        if (exited) return;
        exited = true;
        if (boot !== this.boot) return;
        for (const handle of handles) this.forget(handle, CpgReason.PROCDOWN);
      },
    };
  }

  /** Every process of node `nodeid` is gone (reason NODEDOWN); it cannot reach the service until {@link nodeUp}. */
  nodeDown(nodeid: number): void {
    checkId(nodeid, 'nodeid');
    this.downNodes.add(nodeid);
    for (const handle of [...this.nodeHandles(nodeid)]) this.forget(handle, CpgReason.NODEDOWN);
  }

  /** Node `nodeid` rejoined the cluster: its new processes may initialize again. */
  nodeUp(nodeid: number): void {
    checkId(nodeid, 'nodeid');
    this.downNodes.delete(nodeid);
  }

  /** A power cut of the whole cluster: every handle, group and event in flight is gone. */
  reset(): void {
    for (const handles of this.handlesByNode.values()) for (const handle of handles) handle.kill();
    for (const event of this.flushEvents.values()) this.scheduler.cancel(event);
    this.flushEvents.clear();
    this.handlesByNode.clear();
    this.groups.clear();
    this.downNodes.clear();
    this.boot++;
    this.scheduler.trace('cpg.reset', this.boot);
  }

  /**
   * From now on, everything the CPG delivers to node `nodeid` arrives
   * `delayTicks` later than it would (0 restores it): a loaded node whose
   * corosync hands it the agreed order late. Its own multicasts are still
   * sequenced when sent, so they can land after events it has not seen
   * yet. Order is kept: nothing overtakes what was scheduled before.
   */
  setDeliveryDelayTicks(nodeid: number, delayTicks: number): void {
    checkId(nodeid, 'nodeid');
    if (!Number.isSafeInteger(delayTicks) || delayTicks < 0) {
      throw new RangeError(`CPG delivery delay ${delayTicks} is not an integer ≥ 0 ticks`);
    }
    if (delayTicks === 0) this.deliveryDelays.delete(nodeid);
    else this.deliveryDelays.set(nodeid, delayTicks);
  }

  /** The members of `group` in the current view, by nodeid then pid (white-box). */
  members(group: string): readonly CpgAddress[] {
    return sortedAddresses(this.groups.get(group)?.members ?? []);
  }

  /** Every event `group` sequenced, in order; empty unless built with `recordHistory`. */
  history(group: string): readonly CpgEvent[] {
    return this.histories.get(group) ?? [];
  }

  // ----- sequencing -----------------------------------------------------------

  private multicast(handle: SimCpgHandle, message: Uint8Array): void {
    const group = this.groups.get(handle.groupName ?? '');
    assert(group !== undefined, 'a multicast from a handle whose group does not exist');
    if (group.pending.length > 0) {
      // The changes of this instant are merged into one confchg: the message waits behind it.
      group.held.push({ handle, message });
      return;
    }
    // The sender's own join (and anything else requested before) comes first in the order.
    this.flush(group);
    this.sequenceMessage(group, handle, message);
  }

  private sequenceMessage(group: CpgGroup, handle: SimCpgHandle, message: Uint8Array): void {
    assert(group.isMember(handle), 'a multicast from a handle outside the view');
    this.stats.messagesMulticast++;
    this.stats.bytesMulticast += message.length;
    this.sequence(
      group,
      {
        kind: 'message',
        group: group.name,
        nodeid: handle.nodeid,
        pid: handle.pid,
        message,
        sequence: this.sequenceNext++,
      },
      group.members,
    );
  }

  /** A member (or a handle still joining) goes away with `reason`. */
  private depart(handle: SimCpgHandle, reason: CpgReasonCode): void {
    const group = this.groups.get(handle.groupName ?? '');
    if (group === undefined) return;
    if (group.dropPendingJoin(handle)) {
      // It dies before its join is sequenced: it never was a member, and what it sent is lost.
      const kept = group.held.filter((held) => held.handle !== handle);
      group.held.splice(0, group.held.length, ...kept);
      return;
    }
    if (!group.isMember(handle)) return;
    if (group.pending.some((change) => change.handle === handle)) return;
    this.requestChange(group.name, { kind: 'leave', handle, reason });
  }

  /** A handle is gone for good (its process, its node, or `cpg_finalize`). */
  private forget(handle: SimCpgHandle, reason: CpgReasonCode): void {
    const wasLeaving = handle.state === 'leave-started';
    if (handle.state !== 'finalized') handle.kill();
    this.nodeHandles(handle.nodeid).delete(handle);
    const group = this.groups.get(handle.groupName ?? '');
    if (group === undefined) return;
    // A leave already requested keeps its reason: it is sequenced as it was asked.
    if (wasLeaving && group.pending.some((change) => change.handle === handle)) return;
    this.depart(handle, reason);
  }

  private requestChange(groupName: string, change: PendingMembershipChange): void {
    const mergeable =
      this.merge === 'all' ||
      (this.merge === 'node-failures' && change.reason === CpgReason.NODEDOWN);
    const waiting = this.groups.get(groupName);
    // What waits goes first, so that changes keep the order they were asked in.
    if (
      waiting !== undefined &&
      waiting.pending.length > 0 &&
      (!mergeable || waiting.pending[0]!.kind !== change.kind)
    ) {
      this.flush(waiting);
    }
    // Looked up again: that flush may have emptied the group and dropped it.
    let group = this.groups.get(groupName);
    if (group === undefined) {
      group = new CpgGroup(groupName);
      this.groups.set(groupName, group);
    }
    group.pending.push(change);
    if (!mergeable) {
      this.flush(group);
      return;
    }
    if (this.flushEvents.has(groupName)) return;
    const target = group;
    this.flushEvents.set(
      groupName,
      this.scheduler.schedule(0, 'cpg.membership', () => this.flush(target)),
    );
  }

  /** Sequences the pending membership changes of `group` as one confchg. */
  private flush(group: CpgGroup): void {
    const event = this.flushEvents.get(group.name);
    if (event !== undefined) {
      this.scheduler.cancel(event);
      this.flushEvents.delete(group.name);
    }
    const changes = group.pending.splice(0);
    if (changes.length === 0) {
      // The changes vanished (a joiner died before its join): what waited behind them goes now.
      this.releaseHeld(group);
      this.dropIfEmpty(group);
      return;
    }
    const joining = changes[0]!.kind === 'join';
    // What a departing member multicast while its departure waited was sent in the old view.
    if (!joining) this.releaseHeld(group, new Set(changes.map((change) => change.handle)));
    const leaverRecipients: SimCpgHandle[] = [];
    const own = new Set<SimCpgHandle>();
    for (const change of changes) {
      assert(change.kind === changes[0]!.kind, 'a confchg mixing joins and leaves');
      own.add(change.handle);
      if (joining) {
        assert(change.handle.state === 'join-started', 'a join sequenced for a handle not joining');
        group.members.push(change.handle);
        continue;
      }
      group.removeMember(change.handle);
      // An orderly leaver is alive and sees its own leave; the dead see nothing.
      if (change.reason === CpgReason.LEAVE && change.handle.state === 'leave-started') {
        leaverRecipients.push(change.handle);
      }
    }
    const addresses = changes.map((change) => change.handle.address(change.reason));
    const confchg: CpgConfchgEvent = {
      kind: 'confchg',
      group: group.name,
      members: sortedAddresses(group.members),
      left: joining ? [] : addresses,
      joined: joining ? addresses : [],
      sequence: this.sequenceNext++,
    };
    this.stats.confchgs++;
    this.sequence(group, confchg, [...group.members, ...leaverRecipients], own);
    // The others' messages multicast while the changes waited go out in the new view: corosync
    // orders them after the PROCJOIN or PROCLEAVE already sent, and a survivor's message sent once
    // its ring lost a node is delivered in the ring formed without it.
    this.releaseHeld(group);
    this.dropIfEmpty(group);
  }

  private dropIfEmpty(group: CpgGroup): void {
    if (group.members.length === 0 && group.pending.length === 0 && group.held.length === 0) {
      this.groups.delete(group.name);
    }
  }

  /** Sequences the held messages (only those of `senders` when given), in the order sent. */
  private releaseHeld(group: CpgGroup, senders?: ReadonlySet<SimCpgHandle>): void {
    const release = group.held.filter((held) => senders?.has(held.handle) ?? true);
    const kept = group.held.filter((held) => !release.includes(held));
    group.held.splice(0, group.held.length, ...kept);
    for (const held of release) {
      assert(group.isMember(held.handle), 'a held message from a handle outside the view');
      this.sequenceMessage(group, held.handle, held.message);
    }
  }

  /**
   * Hands `event` to every live recipient, each after its own latency (and
   * its node's delivery delay); `own` are the handles whose join or leave
   * it is, whose state changes when it reaches them.
   */
  private sequence(
    group: CpgGroup,
    event: CpgEvent,
    recipients: readonly SimCpgHandle[],
    own: ReadonlySet<SimCpgHandle> = new Set(),
  ): void {
    this.scheduler.trace(event.kind === 'message' ? 'cpg.mcast' : 'cpg.confchg', event.sequence);
    if (this.recordHistory) {
      let history = this.histories.get(group.name);
      if (history === undefined) {
        history = [];
        this.histories.set(group.name, history);
      }
      history.push(event);
    }
    for (const handle of recipients) {
      if (handle.gone) continue;
      const latencyTicks =
        drawLatencyTicks(this.latency, this.latencyStream(handle.nodeid)) +
        (this.deliveryDelays.get(handle.nodeid) ?? 0);
      handle.deliver(event, latencyTicks, own.has(handle));
    }
  }

  /**
   * What corosync's join handler refuses before it looks at the handle's
   * own state: a handle of the same process (this one included) already
   * holding the group, joining, joined or leaving (CS_ERR_EXIST); the
   * group's view still listing the process, gone without its departure
   * sequenced yet (CS_ERR_TRY_AGAIN, "not yet delivered leave").
   */
  private joinRefusal(handle: SimCpgHandle, group: string): SimCpgJoinRefusal | null {
    for (const other of this.nodeHandles(handle.nodeid)) {
      if (other.pid === handle.pid && other.holds(group)) return 'exist';
    }
    const view = this.groups.get(group)?.members ?? [];
    const listed = view.some(
      (member) => member.nodeid === handle.nodeid && member.pid === handle.pid,
    );
    return listed ? 'try-again' : null;
  }

  private countDispatch(event: CpgEvent): void {
    if (event.kind === 'confchg') {
      this.stats.confchgDeliveries++;
      return;
    }
    this.stats.messageDeliveries++;
    this.stats.bytesDelivered += event.message.length;
  }

  private latencyStream(nodeid: number): RandomStream {
    let stream = this.latencyStreams.get(nodeid);
    if (stream === undefined) {
      stream = this.random.stream(`cpg.latency.${nodeid}`);
      this.latencyStreams.set(nodeid, stream);
    }
    return stream;
  }

  private nodeHandles(nodeid: number): Set<SimCpgHandle> {
    let handles = this.handlesByNode.get(nodeid);
    if (handles === undefined) {
      handles = new Set();
      this.handlesByNode.set(nodeid, handles);
    }
    return handles;
  }
}

/** Members as a confchg lists them: by nodeid, then pid (corosync's sorted process list). */
function sortedAddresses(handles: readonly SimCpgHandle[]): CpgAddress[] {
  return handles
    .map((handle) => handle.address(CpgReason.JOIN))
    .sort((a, b) => a.nodeid - b.nodeid || a.pid - b.pid);
}

function checkId(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new RangeError(`CPG ${what} ${value} is not a u32`);
  }
}
