/**
 * One `cpg_initialize`d handle of the simulated CPG service: the libcpg
 * calls of {@link CpgHandle} (their error codes as corosync's exec/cpg.c
 * answers them), and the handle's inbound queue. Events arrive after
 * their latency, in the group's agreed order, and wait there until the
 * owner's poll loop calls `dispatch`; each arrival signals `onReadable`.
 */
import { assert } from '../../../src/assert.js';
import {
  CPG_MAX_NAME_LENGTH,
  type CpgAddress,
  type CpgCallbacks,
  type CpgDispatchMode,
  type CpgGuarantee,
  type CpgHandle,
  CS_ERR_BAD_HANDLE,
  CS_ERR_BUSY,
  CS_ERR_EXIST,
  CS_ERR_NAME_TOO_LONG,
  CS_ERR_NOT_EXIST,
  CS_ERR_TRY_AGAIN,
  CS_OK,
  type CsError,
} from '../../../src/log/cluster/cpg.js';
import type { Scheduler } from '../../../src/world/scheduler.js';
import type { CpgEvent } from './cpg-event.js';

/**
 * Where a handle is in libcpg's life (`cpd_state`, plus the two ends):
 * `join-started` until its own join confchg reaches its node,
 * `leave-started` until its own leave confchg does (corosync changes the
 * state when it delivers them, before the process dispatches);
 * `finalized` after `cpg_finalize`; `dead` once its process or node is
 * gone.
 */
export type SimCpgHandleState =
  | 'unjoined'
  | 'join-started'
  | 'joined'
  | 'leave-started'
  | 'finalized'
  | 'dead';

/** Why corosync refuses a join before looking at the handle's own state (see {@link CpgHandleOwner.joinRefusal}). */
export type SimCpgJoinRefusal = 'exist' | 'try-again';

/** What a handle asks of the service that made it. */
export interface CpgHandleOwner {
  readonly scheduler: Scheduler;
  requestJoin(handle: SimCpgHandle, group: string): void;
  requestLeave(handle: SimCpgHandle): void;
  multicast(handle: SimCpgHandle, message: Uint8Array): void;
  /** The handle was finalized (its process closed it): gone from its group. */
  finalized(handle: SimCpgHandle): void;
  /** A callback ran: for the service's counters. */
  dispatched(event: CpgEvent): void;
  /** A multicast was refused (CS_ERR_NOT_EXIST): for the service's counters. */
  refused(): void;
  /** Whether the service refuses `handle` joining `group` because of its process. */
  joinRefusal(handle: SimCpgHandle, group: string): SimCpgJoinRefusal | null;
}

/** One handle (see the file comment). */
export class SimCpgHandle implements CpgHandle {
  onReadable: (() => void) | null = null;
  readonly nodeid: number;
  readonly pid: number;
  /** The group joined or being joined, or null. */
  groupName: string | null = null;
  private lifeState: SimCpgHandleState = 'unjoined';
  private readonly owner: CpgHandleOwner;
  private readonly callbacks: CpgCallbacks;
  /** Events that arrived and wait for dispatch, oldest first. */
  private readonly inbox: CpgEvent[] = [];
  /** When the last event scheduled for this handle arrives: later ones never arrive before it. */
  private lastArrivalTicks = 0;
  /** Bumped when the handle dies or is finalized: arrivals scheduled before are dropped. */
  private epoch = 0;
  private lastMembers: readonly CpgAddress[] = [];
  /** The sequence number of the last event delivered (dispatched), or -1. */
  private lastDelivered = -1;

  constructor(options: {
    readonly owner: CpgHandleOwner;
    readonly callbacks: CpgCallbacks;
    readonly nodeid: number;
    readonly pid: number;
  }) {
    this.owner = options.owner;
    this.callbacks = options.callbacks;
    this.nodeid = options.nodeid;
    this.pid = options.pid;
  }

  /** Where the handle is in its life. */
  get state(): SimCpgHandleState {
    return this.lifeState;
  }

  /** Finalized or dead: the handle takes no call and receives nothing more. */
  get gone(): boolean {
    return this.lifeState === 'finalized' || this.lifeState === 'dead';
  }

  /** Events arrived and not yet dispatched. */
  get pendingCount(): number {
    return this.inbox.length;
  }

  /** This handle as a `struct cpg_address` with `reason`. */
  address(reason: CpgAddress['reason']): CpgAddress {
    return { nodeid: this.nodeid, pid: this.pid, reason };
  }

  /**
   * `cpg_join`, checked in corosync's order: a handle of this process
   * already in the group, this one included, is CS_ERR_EXIST (so is
   * joining again the group this handle is leaving); the process still in
   * the group's view, gone with its departure not sequenced yet, is
   * CS_ERR_TRY_AGAIN; then a name too long; then this handle's state:
   * CS_ERR_BUSY while leaving (another group), CS_ERR_EXIST while joined
   * or joining.
   */
  join(group: string): CsError {
    if (this.gone) return CS_ERR_BAD_HANDLE;
    const refusal = this.owner.joinRefusal(this, group);
    if (refusal !== null) return refusal === 'exist' ? CS_ERR_EXIST : CS_ERR_TRY_AGAIN;
    if (group.length > CPG_MAX_NAME_LENGTH) return CS_ERR_NAME_TOO_LONG;
    if (this.lifeState === 'leave-started') return CS_ERR_BUSY;
    if (this.lifeState !== 'unjoined') return CS_ERR_EXIST;
    this.lifeState = 'join-started';
    this.groupName = group;
    this.owner.requestJoin(this, group);
    return CS_OK;
  }

  /** `cpg_leave`: CS_ERR_BUSY while the join is under way, CS_ERR_NOT_EXIST when not joined. */
  leave(group: string): CsError {
    if (this.gone) return CS_ERR_BAD_HANDLE;
    if (this.lifeState === 'join-started') return CS_ERR_BUSY;
    if (this.lifeState !== 'joined' || group !== this.groupName) return CS_ERR_NOT_EXIST;
    this.lifeState = 'leave-started';
    this.owner.requestLeave(this);
    return CS_OK;
  }

  /** `cpg_mcast_joined`: CS_ERR_NOT_EXIST unless joined or joining (corosync's exec/cpg.c). */
  mcastJoined(_guarantee: CpgGuarantee, message: Uint8Array): CsError {
    if (this.gone) return CS_ERR_BAD_HANDLE;
    if (this.lifeState !== 'joined' && this.lifeState !== 'join-started') {
      this.owner.refused();
      return CS_ERR_NOT_EXIST;
    }
    // The members share one copy, as the bytes a ring delivers are the same for all.
    this.owner.multicast(this, message.slice());
    return CS_OK;
  }

  /** `cpg_dispatch`: runs one or every arrived callback; CS_ERR_BAD_HANDLE once finalized or dead. */
  dispatch(mode: CpgDispatchMode): CsError {
    if (this.gone) return CS_ERR_BAD_HANDLE;
    do {
      const event = this.inbox.shift();
      if (event === undefined) break;
      this.run(event);
    } while (mode === 'all' && !this.gone);
    return CS_OK;
  }

  /** `cpg_finalize`: the handle is dead; a member still joined leaves as its process would. */
  finalize(): CsError {
    if (this.gone) return CS_ERR_BAD_HANDLE;
    this.stop('finalized');
    this.owner.finalized(this);
    return CS_OK;
  }

  /** `cpg_local_get`. */
  localGet(): number {
    return this.nodeid;
  }

  /** `cpg_membership_get`: the members of the last confchg this handle dispatched. */
  membershipGet(group: string): readonly CpgAddress[] {
    return group === this.groupName ? this.lastMembers : [];
  }

  // ----- the service's side ------------------------------------------------

  /** Whether this handle holds `group` (joining, joined or leaving it), as corosync's `cpg_pd` does. */
  holds(group: string): boolean {
    return (
      this.groupName === group &&
      (this.lifeState === 'join-started' ||
        this.lifeState === 'joined' ||
        this.lifeState === 'leave-started')
    );
  }

  /**
   * Schedules `event` to arrive after `latencyTicks`, never before an
   * event scheduled earlier. `ownChange`: it is this handle's own join or
   * leave, which completes when it arrives.
   */
  deliver(event: CpgEvent, latencyTicks: number, ownChange = false): void {
    assert(
      this.lifeState !== 'dead' && this.lifeState !== 'finalized',
      'delivery to a dead handle',
    );
    const scheduler = this.owner.scheduler;
    const now = scheduler.now();
    this.lastArrivalTicks = Math.max(now + latencyTicks, this.lastArrivalTicks);
    const epoch = this.epoch;
    scheduler.schedule(
      this.lastArrivalTicks - now,
      event.kind === 'message' ? 'cpg.arrive' : 'cpg.arrive_confchg',
      () => {
        if (epoch !== this.epoch) return;
        if (ownChange) this.ownChangeArrived(event);
        this.inbox.push(event);
        this.onReadable?.();
      },
      this.nodeid,
    );
  }

  /** The process or node is gone: nothing more arrives or is dispatched. */
  kill(): void {
    this.stop('dead');
  }

  /** corosync's `join_started_enter` / `unjoined_enter`, at its own confchg's delivery. */
  private ownChangeArrived(event: CpgEvent): void {
    assert(event.kind === 'confchg', 'a message delivered as a membership change');
    const joined = event.joined.length > 0;
    assert(
      this.lifeState === (joined ? 'join-started' : 'leave-started'),
      `a ${joined ? 'join' : 'leave'} arrived at a handle in state ${this.lifeState}`,
    );
    this.lifeState = joined ? 'joined' : 'unjoined';
  }

  private stop(state: 'dead' | 'finalized'): void {
    this.lifeState = state;
    this.epoch++;
    this.inbox.length = 0;
  }

  private run(event: CpgEvent): void {
    assert(event.sequence > this.lastDelivered, 'a handle got its group’s events out of order');
    this.lastDelivered = event.sequence;
    this.owner.dispatched(event);
    if (event.kind === 'message') {
      this.callbacks.deliver(this, event.group, event.nodeid, event.pid, event.message);
      return;
    }
    this.lastMembers = event.members;
    this.callbacks.confchg(this, event.group, event.members, event.left, event.joined);
  }
}
