/**
 * cmirrord's per-log CPG state, `struct clog_cpg` (reference
 * userspace-and-cluster-logs.md §4.5, §4.8, §4.9): the handle, the
 * server (`lowest_id`), whether the replica is valid, the startup and
 * working lists, and the checkpoint bookkeeping.
 */

import type { ClogCheckpoint } from './clog-checkpoint.js';
import type { ClogRequest } from './clog-request.js';
import { CLUSTER_ID_NONE, ClogCpgState, type ClogCpgStateCode } from './cluster-constants.js';
import type { CpgAddress, CpgHandle } from './cpg.js';

/** A callback `cpg_dispatch` ran, kept until the daemon handles it (it may block meanwhile). */
export type ClogCpgEvent =
  | { readonly kind: 'message'; readonly nodeid: number; readonly message: Uint8Array }
  | {
      readonly kind: 'confchg';
      readonly members: readonly CpgAddress[];
      readonly left: readonly CpgAddress[];
      readonly joined: readonly CpgAddress[];
    };

/** A checkpoint prepared for a joiner (`struct checkpoint_data`). */
export interface PendingCheckpoint {
  readonly requester: number;
  readonly checkpoint: ClogCheckpoint;
}

/** A request kept in the startup list: a stored message, or a joiner waiting for a checkpoint. */
export type StartupEntry =
  | { readonly kind: 'request'; readonly request: ClogRequest }
  | { readonly kind: 'member-join'; readonly nodeid: number };

/** One log's CPG (see the file comment). */
export class ClogCpg {
  /** The group name: the uuid truncated to `CPG_MAX_NAME_LENGTH`. */
  readonly name: string;
  readonly luid: bigint;
  readonly handle: CpgHandle;
  lowestId = CLUSTER_ID_NONE;
  /** `state`: INVALID until the first join or a checkpoint, VALID, LEAVING. */
  state: ClogCpgStateCode = ClogCpgState.INVALID;
  /** `cpg_state`: VALID from the join until the leave starts; `cluster_send` needs it. */
  cpgState: ClogCpgStateCode = ClogCpgState.VALID;
  freeMe = false;
  /** `delay` (#1): lower-id nodes that announced their POSTSUSPEND and have not left yet. */
  delay = 0;
  resendRequests = false;
  readonly startupList: StartupEntry[] = [];
  /** Our own requests seen at self-delivery, waiting for the server's response. */
  readonly workingList: ClogRequest[] = [];
  /** `checkpoint_requesters`, `checkpoints_needed` entries. */
  readonly checkpointRequesters: number[] = [];
  /** `checkpoint_list`, newest first. */
  readonly checkpointList: PendingCheckpoint[] = [];
  /** Callbacks run by `cpg_dispatch` and not handled yet. */
  readonly inbox: ClogCpgEvent[] = [];

  constructor(options: {
    readonly name: string;
    readonly luid: bigint;
    readonly handle: CpgHandle;
  }) {
    this.name = options.name;
    this.luid = options.luid;
    this.handle = options.handle;
  }
}
