/**
 * What can go wrong between the simulated kernel and its log daemon, all
 * drawn from named random streams of the world's seed: latency each way,
 * lost and duplicated requests and replies, replies so late that the
 * kernel has already resent (reference userspace-and-cluster-logs.md §3),
 * and daemon crashes with a restart delay. Requests stay in order, as a
 * netlink socket keeps them; replies may overtake each other.
 */
import type { LatencyModel } from '../../src/block/latency.js';
import { checkLatency, fixedLatency } from '../../src/block/latency.js';
import { DM_ULOG_RETRY_TIMEOUT_TICKS } from '../../src/log/userspace/ulog-transfer.js';
import { TICKS_PER_MICROSECOND, TICKS_PER_SECOND } from '../../src/world/scheduler.js';

/** A range of ticks, both ends included. */
export interface TickRange {
  readonly minTicks: number;
  readonly maxTicks: number;
}

/** The fault model of a simulated kernel ⇄ daemon link. Every field is optional. */
export interface SimUlogFaults {
  /** Kernel → daemon latency (default 20 µs). */
  readonly requestLatency?: LatencyModel;
  /** Daemon → kernel latency (default 20 µs). */
  readonly replyLatency?: LatencyModel;
  readonly requestLossProbability?: number;
  readonly requestDuplicateProbability?: number;
  readonly replyLossProbability?: number;
  readonly replyDuplicateProbability?: number;
  /** A reply held back past the kernel's 15 s timeout, so it arrives after the resend. */
  readonly lateReplyProbability?: number;
  /** Extra delay of a late reply (default 15–30 s past the timeout start). */
  readonly lateReplyDelay?: TickRange;
  /** Per request the daemon takes from its mailbox: it crashes before or after handling it. */
  readonly daemonCrashProbability?: number;
  /** How long a crashed daemon stays down before it restarts (default 0.5–20 s). */
  readonly daemonRestartDelay?: TickRange;
}

/** Every field of {@link SimUlogFaults}, defaults filled in and checked. */
export type ResolvedSimUlogFaults = Required<SimUlogFaults>;

/** The default link: 20 µs each way and nothing goes wrong. */
export const SIM_ULOG_LINK_LATENCY = fixedLatency(20 * TICKS_PER_MICROSECOND);

/** Fills in defaults and checks every value; RangeError names the bad one. */
export function resolveSimUlogFaults(faults: SimUlogFaults = {}): ResolvedSimUlogFaults {
  const resolved: ResolvedSimUlogFaults = {
    requestLatency: faults.requestLatency ?? SIM_ULOG_LINK_LATENCY,
    replyLatency: faults.replyLatency ?? SIM_ULOG_LINK_LATENCY,
    requestLossProbability: faults.requestLossProbability ?? 0,
    requestDuplicateProbability: faults.requestDuplicateProbability ?? 0,
    replyLossProbability: faults.replyLossProbability ?? 0,
    replyDuplicateProbability: faults.replyDuplicateProbability ?? 0,
    lateReplyProbability: faults.lateReplyProbability ?? 0,
    lateReplyDelay: faults.lateReplyDelay ?? {
      minTicks: DM_ULOG_RETRY_TIMEOUT_TICKS,
      maxTicks: 2 * DM_ULOG_RETRY_TIMEOUT_TICKS,
    },
    daemonCrashProbability: faults.daemonCrashProbability ?? 0,
    daemonRestartDelay: faults.daemonRestartDelay ?? {
      minTicks: TICKS_PER_SECOND / 2,
      maxTicks: 20 * TICKS_PER_SECOND,
    },
  };
  checkLatency('ulog link', 'request', resolved.requestLatency);
  checkLatency('ulog link', 'reply', resolved.replyLatency);
  for (const key of [
    'requestLossProbability',
    'requestDuplicateProbability',
    'replyLossProbability',
    'replyDuplicateProbability',
    'lateReplyProbability',
    'daemonCrashProbability',
  ] as const) {
    const value = resolved[key];
    if (!(value >= 0 && value <= 1)) {
      throw new RangeError(`Userspace log link ${key} ${value} is not a probability in [0, 1]`);
    }
  }
  checkRange('lateReplyDelay', resolved.lateReplyDelay);
  checkRange('daemonRestartDelay', resolved.daemonRestartDelay);
  return resolved;
}

function checkRange(what: string, range: TickRange): void {
  if (
    !Number.isSafeInteger(range.minTicks) ||
    !Number.isSafeInteger(range.maxTicks) ||
    range.minTicks < 0 ||
    range.maxTicks < range.minTicks
  ) {
    throw new RangeError(
      `Userspace log link ${what} [${range.minTicks}, ${range.maxTicks}] is not a range of ticks ≥ 0`,
    );
  }
}
