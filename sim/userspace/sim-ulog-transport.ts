/**
 * The simulated kernel ⇄ daemon link, a {@link UlogChannel}: requests go
 * to the daemon's mailbox in send order after a latency (any
 * {@link SimUlogDaemonEnd}: the simple daemon, or a cluster node's
 * cmirrord), replies come back
 * as scheduler events. Loss, duplication and late replies are drawn from
 * the seed (streams `ulog.request` and `ulog.reply`), or injected one at a
 * time for model-based tests.
 */
import { drawLatencyTicks } from '../../src/block/latency.js';
import { ESRCH } from '../../src/errno.js';
import type {
  UlogChannel,
  UlogChannelEndpoint,
  UlogRoundTrip,
} from '../../src/log/userspace/ulog-channel.js';
import type { RandomSource, RandomStream } from '../../src/world/random-stream.js';
import type { Scheduler } from '../../src/world/scheduler.js';
import type { SimUlogDaemonEnd } from './sim-ulog-daemon-end.js';
import type { ResolvedSimUlogFaults } from './sim-ulog-faults.js';

/** Counters of the link. */
export interface SimUlogTransportStats {
  requestsSent: number;
  requestsLost: number;
  requestsDuplicated: number;
  noListener: number;
  replies: number;
  repliesLost: number;
  repliesDuplicated: number;
  repliesLate: number;
  /** Replies that found no kernel attached. */
  repliesUndelivered: number;
}

/** One-shot faults injected by tests; each applies to the next matching message. */
interface Injected {
  dropRequests: number;
  duplicateRequests: number;
  dropReplies: number;
  delayReplies: number[];
}

/** The simulated link (see the file comment). */
export class SimUlogTransport implements UlogChannel {
  readonly stats: SimUlogTransportStats = {
    requestsSent: 0,
    requestsLost: 0,
    requestsDuplicated: 0,
    noListener: 0,
    replies: 0,
    repliesLost: 0,
    repliesDuplicated: 0,
    repliesLate: 0,
    repliesUndelivered: 0,
  };
  private readonly scheduler: Scheduler;
  private readonly faults: ResolvedSimUlogFaults;
  private readonly requestRandom: RandomStream;
  private readonly replyRandom: RandomStream;
  private daemon: SimUlogDaemonEnd | null = null;
  private endpoint: UlogChannelEndpoint | null = null;
  /** When the last request reaches the daemon: later ones never arrive before it. */
  private lastArrivalTicks = 0;
  private readonly injected: Injected = {
    dropRequests: 0,
    duplicateRequests: 0,
    dropReplies: 0,
    delayReplies: [],
  };

  constructor(options: {
    readonly scheduler: Scheduler;
    readonly random: RandomSource;
    readonly faults: ResolvedSimUlogFaults;
  }) {
    this.scheduler = options.scheduler;
    this.faults = options.faults;
    this.requestRandom = options.random.stream('ulog.request');
    this.replyRandom = options.random.stream('ulog.reply');
  }

  /** Connects the daemon end (once): the simple daemon, or a node's cmirrord. */
  connectDaemon(daemon: SimUlogDaemonEnd): void {
    if (this.daemon !== null) throw new RangeError('The simulated link already has a daemon');
    this.daemon = daemon;
  }

  /** Where replies go: the kernel of the current boot. */
  attach(endpoint: UlogChannelEndpoint): void {
    this.endpoint = endpoint;
  }

  /** `cn_netlink_send`: ESRCH when the daemon is down; otherwise queued for delivery in order. */
  send(record: Uint8Array): number {
    const daemon = this.requireDaemon();
    this.stats.requestsSent++;
    if (!daemon.listening) {
      this.stats.noListener++;
      return ESRCH;
    }
    if (this.takeInjected('dropRequests') || this.draw(this.requestRandom, 'requestLoss')) {
      this.stats.requestsLost++;
      this.scheduler.trace('ulog.request_lost');
      return 0;
    }
    const duplicate =
      this.takeInjected('duplicateRequests') || this.draw(this.requestRandom, 'requestDuplicate');
    const now = this.scheduler.now();
    const latency = drawLatencyTicks(this.faults.requestLatency, this.requestRandom);
    this.lastArrivalTicks = Math.max(now + latency, this.lastArrivalTicks);
    const generation = daemon.generation;
    const copies = duplicate ? 2 : 1;
    if (duplicate) this.stats.requestsDuplicated++;
    for (let copy = 0; copy < copies; copy++) {
      this.scheduler.schedule(this.lastArrivalTicks - now, 'ulog.request', () =>
        daemon.deliver(record, generation),
      );
    }
    return 0;
  }

  /** The table-load path: handled at once by a listening daemon, without faults. */
  roundTripNow(record: Uint8Array): UlogRoundTrip {
    const daemon = this.requireDaemon();
    this.stats.requestsSent++;
    if (!daemon.listening) {
      this.stats.noListener++;
      return { kind: 'no-listener' };
    }
    const reply = daemon.handleNow(record);
    return reply === null ? { kind: 'lost' } : { kind: 'reply', reply };
  }

  /** The daemon's reply: lost, duplicated, late, or on time, then handed to the kernel. */
  sendReply(reply: Uint8Array): void {
    this.stats.replies++;
    if (this.takeInjected('dropReplies') || this.draw(this.replyRandom, 'replyLoss')) {
      this.stats.repliesLost++;
      this.scheduler.trace('ulog.reply_lost');
      return;
    }
    const copies = this.draw(this.replyRandom, 'replyDuplicate') ? 2 : 1;
    if (copies === 2) this.stats.repliesDuplicated++;
    for (let copy = 0; copy < copies; copy++) {
      this.scheduler.schedule(this.replyDelayTicks(), 'ulog.reply', () => {
        if (this.endpoint === null) {
          this.stats.repliesUndelivered++;
          return;
        }
        this.endpoint.receive(reply);
      });
    }
  }

  /** Forgets what was in transit (the machine rebooted; its events are gone). */
  reset(): void {
    this.lastArrivalTicks = 0;
  }

  // ----- one-shot injection (for model-based tests) -----------------------------

  /** The next request sent is lost. */
  dropNextRequest(): void {
    this.injected.dropRequests++;
  }

  /** The next request sent arrives twice in a row. */
  duplicateNextRequest(): void {
    this.injected.duplicateRequests++;
  }

  /** The next reply the daemon sends is lost. */
  dropNextReply(): void {
    this.injected.dropReplies++;
  }

  /** The next reply the daemon sends arrives `delayTicks` late (past 15 s: after the resend). */
  delayNextReply(delayTicks: number): void {
    if (!Number.isSafeInteger(delayTicks) || delayTicks < 0) {
      throw new RangeError(`Reply delay ${delayTicks} is not an integer ≥ 0 ticks`);
    }
    this.injected.delayReplies.push(delayTicks);
  }

  private replyDelayTicks(): number {
    const latency = drawLatencyTicks(this.faults.replyLatency, this.replyRandom);
    const injected = this.injected.delayReplies.shift();
    if (injected !== undefined) {
      this.stats.repliesLate++;
      return latency + injected;
    }
    if (!this.draw(this.replyRandom, 'lateReply')) return latency;
    this.stats.repliesLate++;
    const range = this.faults.lateReplyDelay;
    return latency + this.replyRandom.nextInt(range.minTicks, range.maxTicks);
  }

  private takeInjected(key: 'dropRequests' | 'duplicateRequests' | 'dropReplies'): boolean {
    if (this.injected[key] === 0) return false;
    this.injected[key]--;
    return true;
  }

  /** One seeded draw; no draw at all when the probability is 0, so adding faults elsewhere keeps streams. */
  private draw(
    random: RandomStream,
    what: 'requestLoss' | 'requestDuplicate' | 'replyLoss' | 'replyDuplicate' | 'lateReply',
  ): boolean {
    const probability = {
      requestLoss: this.faults.requestLossProbability,
      requestDuplicate: this.faults.requestDuplicateProbability,
      replyLoss: this.faults.replyLossProbability,
      replyDuplicate: this.faults.replyDuplicateProbability,
      lateReply: this.faults.lateReplyProbability,
    }[what];
    return probability > 0 && random.nextBoolean(probability);
  }

  private requireDaemon(): SimUlogDaemonEnd {
    if (this.daemon === null) throw new RangeError('The simulated link has no daemon connected');
    return this.daemon;
  }
}
