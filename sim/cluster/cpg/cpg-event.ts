/**
 * What a process group delivers, in the one agreed order the simulated CPG
 * service gives every member (reference userspace-and-cluster-logs.md
 * §4.10): a multicast message, or a membership change (a confchg).
 */
import type { CpgAddress } from '../../../src/log/cluster/cpg.js';

/** A multicast message as it is delivered (`cpg_deliver_fn_t`'s arguments). */
export interface CpgMessageEvent {
  readonly kind: 'message';
  readonly group: string;
  /** The sender. */
  readonly nodeid: number;
  readonly pid: number;
  /** The bytes as multicast; every member gets the same (read-only) copy. */
  readonly message: Uint8Array;
  /** Position in the group's agreed order (0 for the first event ever sequenced in the model). */
  readonly sequence: number;
}

/** A membership change (`cpg_confchg_fn_t`'s arguments). */
export interface CpgConfchgEvent {
  readonly kind: 'confchg';
  readonly group: string;
  /** The members after the change, in the order they joined. */
  readonly members: readonly CpgAddress[];
  readonly left: readonly CpgAddress[];
  readonly joined: readonly CpgAddress[];
  /** Position in the group's agreed order. */
  readonly sequence: number;
}

/** One event of a group's agreed order. */
export type CpgEvent = CpgMessageEvent | CpgConfchgEvent;
