/**
 * Corosync's closed process group API (libcpg, `corosync/cpg.h`) as the
 * cluster log daemon uses it (reference userspace-and-cluster-logs.md §4.1,
 * §4.10): one handle per log, joined to a group named after the log's uuid;
 * agreed-order multicast with self-delivery; membership changes delivered
 * at the same point of every member's message stream (virtual synchrony).
 *
 * Only the shape lives here, so that the daemon (src/) depends on nothing
 * but this interface: the simulator's CPG model (sim/) implements it, and a
 * binding to a real corosync could implement it too.
 *
 * As in libcpg, callbacks never run inside `join`, `leave` or
 * `mcastJoined`. The service signals that a handle has something to
 * deliver (`onReadable`, the fd `cpg_fd_get` returns becoming readable),
 * and the owner's poll loop calls `dispatch`, which runs the callbacks.
 */

/** `cs_error_t` values the daemon meets (corosync's `corotypes.h`). */
export const CS_OK = 1;
export const CS_ERR_LIBRARY = 2;
export const CS_ERR_TRY_AGAIN = 6;
export const CS_ERR_INVALID_PARAM = 7;
export const CS_ERR_BAD_HANDLE = 9;
/** `cpg_join` while a leave is under way; `cpg_leave` while the join is (corosync's exec/cpg.c). */
export const CS_ERR_BUSY = 10;
export const CS_ERR_NOT_EXIST = 12;
/** `cpg_join` with a group name over {@link CPG_MAX_NAME_LENGTH}. */
export const CS_ERR_NAME_TOO_LONG = 13;
export const CS_ERR_EXIST = 14;

/** A `cs_error_t`. */
export type CsError = number;

/** `CPG_MAX_NAME_LENGTH`: longer group names are refused (cmirrord truncates the uuid to it). */
export const CPG_MAX_NAME_LENGTH = 128;

/** `cpg_reason`: why a member joined or left, as `struct cpg_address.reason` carries it. */
export const CpgReason = {
  JOIN: 1,
  LEAVE: 2,
  NODEDOWN: 3,
  NODEUP: 4,
  PROCDOWN: 5,
} as const;
export type CpgReasonCode = (typeof CpgReason)[keyof typeof CpgReason];

/** `struct cpg_address`. */
export interface CpgAddress {
  readonly nodeid: number;
  readonly pid: number;
  readonly reason: CpgReasonCode;
}

/** `cpg_guarantee_t`: corosync implements AGREED (and FIFO as the same thing); cmirrord uses AGREED. */
export type CpgGuarantee = 'agreed';

/** `cpg_callbacks_t`, run only from {@link CpgHandle.dispatch}. */
export interface CpgCallbacks {
  /** `cpg_deliver_fn_t`: one message, in agreed order, the sender's own included. */
  deliver(handle: CpgHandle, group: string, nodeid: number, pid: number, message: Uint8Array): void;
  /**
   * `cpg_confchg_fn_t`: the group's membership after a change, and who
   * left and who joined in it (each with its reason).
   */
  confchg(
    handle: CpgHandle,
    group: string,
    members: readonly CpgAddress[],
    left: readonly CpgAddress[],
    joined: readonly CpgAddress[],
  ): void;
}

/** `cpg_dispatch` modes: one pending callback, or every one pending now. */
export type CpgDispatchMode = 'one' | 'all';

/** One `cpg_initialize`d handle. */
export interface CpgHandle {
  /** `cpg_join`. At most one group per handle. */
  join(group: string): CsError;
  /** `cpg_leave`. The leaver's own confchg still arrives through dispatch. */
  leave(group: string): CsError;
  /** `cpg_mcast_joined`: queues one message for every member, in agreed order. */
  mcastJoined(guarantee: CpgGuarantee, message: Uint8Array): CsError;
  /** `cpg_dispatch`: runs pending callbacks. `CS_ERR_BAD_HANDLE` after finalize. */
  dispatch(mode: CpgDispatchMode): CsError;
  /** `cpg_finalize`: the handle is dead; pending callbacks are dropped. */
  finalize(): CsError;
  /** `cpg_local_get`: this node's id. */
  localGet(): number;
  /** `cpg_membership_get`: the group's members as this handle last saw them. */
  membershipGet(group: string): readonly CpgAddress[];
  /**
   * The handle's fd became readable: something waits for {@link dispatch}.
   * Set by the owner's poll loop; called outside any dispatch.
   */
  onReadable: (() => void) | null;
}

/** What `cpg_initialize` returns. */
export type CpgInitializeResult =
  | { readonly error: typeof CS_OK; readonly handle: CpgHandle }
  | { readonly error: CsError; readonly handle: null };

/** The CPG service of one node, as one process (pid) on it sees it. */
export interface CpgService {
  /** `cpg_initialize`. */
  initialize(callbacks: CpgCallbacks): CpgInitializeResult;
}
