/**
 * How a simulated CPG service ({@link CpgModel}) is set up, and what it
 * counts for the benchmark.
 */
import { checkLatency, type LatencyModel } from '../../../src/block/latency.js';
import type { RandomSource } from '../../../src/world/random-stream.js';
import type { Scheduler } from '../../../src/world/scheduler.js';

/** See {@link CpgModelOptions.mergeMembershipChanges}. */
export type CpgMembershipMerge = boolean | 'node-failures';

/** The options of {@link CpgModel}. */
export interface CpgModelOptions {
  readonly scheduler: Scheduler;
  /** Latencies are drawn from its streams `cpg.latency.<nodeid>`, one per receiving node. */
  readonly random: RandomSource;
  /**
   * Time from sequencing to arrival at a member, drawn per delivery; each
   * member still gets the group's events in the agreed order (a later
   * event never arrives before an earlier one). Default: at least 20 µs,
   * 60 µs on average.
   */
  readonly latency?: LatencyModel;
  /**
   * Which membership changes requested in the same instant share one
   * confchg (cmirrord handles only the first entry of such a change,
   * §4.10); messages multicast while they wait are held and sequenced
   * right after the confchg, in the new view (those of a departing
   * member right before it, in the old one).
   *
   * - `'node-failures'` (the default), corosync's rule: the processes of
   *   the nodes that fail together (one ring change, here one instant)
   *   leave in one confchg per group, reason NODEDOWN
   *   (`downlist_master_choose_and_send`, "only one confchg event per cpg
   *   group"); every join, orderly leave and process exit is its own
   *   confchg, since each is one `PROCJOIN`/`PROCLEAVE` message
   *   (`do_proc_join`, which asserts `joined_list_entries <= 1`;
   *   `do_proc_leave`). openais's CPG behaves the same.
   * - `false`: every change its own confchg, even two processes of one
   *   failed node (beyond corosync: failures seen one at a time).
   * - `true`: any changes of one kind share a confchg, joins too — a
   *   confchg no corosync or openais release delivers, kept to exercise
   *   cmirrord's first-entry-only handling with joins.
   */
  readonly mergeMembershipChanges?: CpgMembershipMerge;
  /**
   * Keep every group's sequenced events ({@link CpgModel.history}) for
   * white-box checks. Memory grows with every message: tests only.
   * Default false.
   */
  readonly recordHistory?: boolean;
}

/** Counters of a {@link CpgModel}, for the benchmark. */
export interface CpgModelStats {
  /** Messages sequenced by `cpg_mcast_joined`. */
  messagesMulticast: number;
  /** Bytes of those messages. */
  bytesMulticast: number;
  /** Message callbacks run (one per member per message delivered). */
  messageDeliveries: number;
  /** Bytes handed to message callbacks. */
  bytesDelivered: number;
  /** Membership changes sequenced. */
  confchgs: number;
  /** Confchg callbacks run. */
  confchgDeliveries: number;
  /** Multicasts refused because the handle was not a member (CS_ERR_NOT_EXIST). */
  mcastRefused: number;
}

/** The default delivery latency: 20 µs plus an exponential tail, 60 µs on average. */
export const CPG_DEFAULT_LATENCY: LatencyModel = {
  kind: 'exponential',
  minimumTicks: 20,
  meanTicks: 60,
};

/** Checks the options; RangeError names the bad value. */
export function checkCpgModelOptions(options: CpgModelOptions): LatencyModel {
  const latency = options.latency ?? CPG_DEFAULT_LATENCY;
  checkLatency('cpg', 'delivery', latency);
  return latency;
}
