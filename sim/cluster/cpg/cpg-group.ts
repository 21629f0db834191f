/**
 * One closed process group of the simulated CPG service: its members in
 * the order they joined, and the membership changes requested but not
 * sequenced yet. Sequencing is the model's ({@link CpgModel}); the group
 * only holds the view.
 */
import { assert } from '../../../src/assert.js';
import type { CpgReasonCode } from '../../../src/log/cluster/cpg.js';
import type { SimCpgHandle } from './sim-cpg-handle.js';

/** A join, or a departure with its reason, waiting to be sequenced. */
export interface PendingMembershipChange {
  readonly kind: 'join' | 'leave';
  readonly handle: SimCpgHandle;
  /** For a departure: LEAVE, NODEDOWN or PROCDOWN. */
  readonly reason: CpgReasonCode;
}

/** One group (see the file comment). */
export class CpgGroup {
  readonly name: string;
  /** The current view, oldest member first. */
  readonly members: SimCpgHandle[] = [];
  /** Changes requested in this instant, all of one kind, not sequenced yet. */
  readonly pending: PendingMembershipChange[] = [];
  /**
   * Messages multicast while merged changes wait, in the order sent, as
   * a ring holds messages while it reforms: sequenced right after the
   * confchg, in the new view, except those of a departing member, which
   * it sent in the old view and come right before.
   */
  readonly held: { readonly handle: SimCpgHandle; readonly message: Uint8Array }[] = [];

  constructor(name: string) {
    this.name = name;
  }

  /** Whether `handle` is in the current view. */
  isMember(handle: SimCpgHandle): boolean {
    return this.members.includes(handle);
  }

  /** Removes `handle` from the view; it must be there. */
  removeMember(handle: SimCpgHandle): void {
    const index = this.members.indexOf(handle);
    assert(index >= 0, `handle ${handle.nodeid}/${handle.pid} left group "${this.name}" twice`);
    this.members.splice(index, 1);
  }

  /** Drops a pending join of `handle` (it died before its join was sequenced); true if there was one. */
  dropPendingJoin(handle: SimCpgHandle): boolean {
    const index = this.pending.findIndex(
      (change) => change.kind === 'join' && change.handle === handle,
    );
    if (index < 0) return false;
    this.pending.splice(index, 1);
    return true;
  }
}
