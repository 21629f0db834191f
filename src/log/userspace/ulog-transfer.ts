/**
 * The kernel's transfer layer, `dm-log-userspace-transfer.c` (reference
 * userspace-and-cluster-logs.md §3, §1.5): `dm_consult_userspace` sends one
 * request and waits for the reply whose seq matches.
 *
 * One instance is one booted kernel, shared by every `userspace` log on
 * it: the global u32 sequence counter (advanced by every send, resends
 * included), the send path serialised on one preallocated 512-byte buffer,
 * the list of waiters (many at once, each matched on seq alone), the 15 s
 * timeout with resend, and `-EAGAIN` resends. It also holds the one piece
 * of `dm-log-userspace-base.c` state that is global in Linux:
 * `is_remote_recovering`'s function-static rate-limit deadline.
 */
import { assert } from '../../assert.js';
import { type Blocking, waitFor } from '../../concurrency/blocking.js';
import { EAGAIN, EINVAL, ENOSPC, ESRCH } from '../../errno.js';
import type { ScheduledEvent, Scheduler } from '../../world/scheduler.js';
import { TICKS_PER_SECOND } from '../../world/scheduler.js';
import { KernelMessageLog } from './_internals/kernel-messages.js';
import type { UlogChannel } from './ulog-channel.js';
import {
  CN_MSG_HEADER_BYTES,
  DM_ULOG_PREALLOCED_SIZE,
  DM_ULOG_REQUEST_VERSION,
  ULOG_REQUEST_PAYLOAD_BYTES_MAX,
} from './ulog-constants.js';
import { UlogProtocolError } from './ulog-protocol-error.js';
import { decodeUlogRequest, encodeUlogRequest } from './ulog-request.js';
import {
  ULOG_REQUEST_TYPE_MAX,
  type UlogRequestTypeCode,
  ulogRequestTypeName,
} from './ulog-request-type.js';

/** `DM_ULOG_RETRY_TIMEOUT`: 15 s without a reply counts as lost, and the request is resent. */
export const DM_ULOG_RETRY_TIMEOUT_TICKS = 15 * TICKS_PER_SECOND;

/**
 * Attempts the table-load path makes before giving up. Linux retries
 * forever, blocking the table load; the simulator's load cannot wait, so
 * it stops and reports that no daemon answered (-ESRCH).
 */
export const ULOG_LOAD_ATTEMPTS_MAX = 3;

/**
 * `-EAGAIN` answers the table-load path resends before it gives up and
 * returns that answer. Linux resends forever, and a daemon that always
 * answers -EAGAIN spins the table load; the simulator's load passes no
 * time, so such a daemon would hang the process instead.
 */
export const ULOG_LOAD_EAGAIN_RESENDS_MAX = 16;

/** One call of `dm_consult_userspace`. */
export interface UlogConsultRequest {
  readonly uuid: string;
  readonly luid: bigint;
  readonly requestType: UlogRequestTypeCode;
  /** The payload; none when absent. */
  readonly data?: Uint8Array;
  /** `*rdata_size`: the caller's reply buffer in bytes; 0 (no buffer) when absent. */
  readonly replyBytesMax?: number;
}

/** What `dm_consult_userspace` returns: 0 or a negative errno, and the reply data. */
export interface UlogConsultResult {
  readonly error: number;
  /** The reply payload (empty on error). */
  readonly data: Uint8Array;
}

/** Counters of what the transfer layer did, for tests and the benchmark. */
export interface UlogTransferStats {
  /** Records handed to the channel: every round trip, resends included. */
  requestsSent: number;
  /** `requestsSent` by request type code (index 0 unused). */
  readonly requestsByType: number[];
  /** Requests that waited 15 s and were resent. */
  timeouts: number;
  /** Requests resent because the reply said -EAGAIN. */
  eagainResends: number;
  /** Sends refused because no daemon listened (-ESRCH). */
  noListener: number;
  /** Replies that found their waiter. */
  repliesMatched: number;
  /** Replies whose seq nobody waits for any more, dropped silently (`fill_pkg` -ENOENT). */
  lateReplies: number;
  /** Replies that could not be decoded. */
  malformedReplies: number;
}

/** How {@link UlogTransfer} is built. */
export interface UlogTransferOptions {
  readonly scheduler: Scheduler;
  readonly channel: UlogChannel;
  /**
   * Hands out `luid`s, unique for the life of the daemon the channel
   * reaches (they must not repeat across a reboot of the simulated
   * machine). Default: a counter from the channel's `luidBase`, or 1.
   */
  readonly allocateLuid?: () => bigint;
}

type Outcome =
  | { readonly kind: 'reply'; readonly error: number; readonly data: Uint8Array }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'send-error'; readonly error: number };

/** `struct receiving_pkg`: one caller waiting for the reply to `seq`. */
interface Waiter {
  readonly seq: number;
  readonly replyBytesMax: number;
  readonly resume: (outcome: Outcome) => void;
  timer: ScheduledEvent | null;
}

const EMPTY = new Uint8Array(0);
const U32_MODULUS = 0x1_0000_0000;

/** The transfer layer of one simulated kernel (see the file comment). */
export class UlogTransfer {
  readonly scheduler: Scheduler;
  readonly channel: UlogChannel;
  readonly stats: UlogTransferStats = {
    requestsSent: 0,
    requestsByType: new Array<number>(ULOG_REQUEST_TYPE_MAX + 1).fill(0),
    timeouts: 0,
    eagainResends: 0,
    noListener: 0,
    repliesMatched: 0,
    lateReplies: 0,
    malformedReplies: 0,
  };
  /** DMERR/DMWARN lines of the transfer layer and of every userspace log on this kernel. */
  readonly messages = new KernelMessageLog();
  /**
   * `userspace_is_remote_recovering`'s function-static `limit`: one
   * deadline shared by every userspace log on this kernel (§2.5).
   */
  remoteRecoveringLimitTicks = 0;

  /** `dm_ulog_seq`: the seq of the next send. */
  private seqNext = 0;
  /** `receiving_list`, keyed by seq. */
  private readonly waiters = new Map<number, Waiter>();
  /** `dm_ulog_lock` is held: the shared buffer is in use. */
  private sending = false;
  private readonly allocateLuidFn: () => bigint;

  constructor(options: UlogTransferOptions) {
    this.scheduler = options.scheduler;
    this.channel = options.channel;
    let luidNext = options.channel.luidBase ?? 1n;
    this.allocateLuidFn =
      options.allocateLuid ??
      (() => {
        const luid = luidNext;
        luidNext += 1n;
        return luid;
      });
    this.channel.attach({ scheduler: this.scheduler, receive: (reply) => this.receive(reply) });
  }

  /** A fresh `luid` for a new log instance (Linux uses the address of its `log_c`). */
  allocateLuid(): bigint {
    const luid = this.allocateLuidFn();
    assert(luid > 0n, `luid ${luid} is not positive`);
    return luid;
  }

  /** The seq the next send will carry. */
  get nextSeq(): number {
    return this.seqNext;
  }

  /** Callers waiting for a reply now. */
  get waiting(): number {
    return this.waiters.size;
  }

  /**
   * `dm_consult_userspace`: sends the request and waits for its reply.
   * Resends, each time with a new seq, after 15 s without a reply and
   * after an `-EAGAIN` reply; there is no retry limit. Returns the reply's
   * error and data, a send error (`-ESRCH` when no daemon listens) at once,
   * `-EINVAL` for a payload over the 332-byte limit without sending, and
   * `-ENOSPC` for a reply bigger than `replyBytesMax`.
   */
  *consult(request: UlogConsultRequest): Blocking<UlogConsultResult> {
    const data = request.data ?? EMPTY;
    if (data.length > ULOG_REQUEST_PAYLOAD_BYTES_MAX) return this.oversize(data.length);
    for (;;) {
      const outcome = yield* waitFor<Outcome>((resume) => this.sendAndWait(request, data, resume));
      if (outcome.kind === 'send-error') {
        this.message(
          'error',
          `Unable to send log request [${request.requestType}] to userspace: ${outcome.error}`,
        );
        return { error: outcome.error, data: EMPTY };
      }
      if (outcome.kind === 'timeout') continue;
      if (outcome.error === EAGAIN) {
        this.stats.eagainResends++;
        continue;
      }
      return { error: outcome.error, data: outcome.data };
    }
  }

  /**
   * The table-load path of `dm_consult_userspace` (see
   * {@link UlogChannel.roundTripNow}): the same seq, resend and matching
   * rules, done inside the call. Gives up with `-ESRCH` after
   * {@link ULOG_LOAD_ATTEMPTS_MAX} lost attempts, and returns `-EAGAIN`
   * after {@link ULOG_LOAD_EAGAIN_RESENDS_MAX} resends that it answered.
   */
  consultNow(request: UlogConsultRequest): UlogConsultResult {
    const data = request.data ?? EMPTY;
    if (data.length > ULOG_REQUEST_PAYLOAD_BYTES_MAX) return this.oversize(data.length);
    const replyBytesMax = request.replyBytesMax ?? 0;
    let lost = 0;
    let eagainResends = 0;
    while (lost < ULOG_LOAD_ATTEMPTS_MAX) {
      const seq = this.takeSeq();
      const record = this.encode(request, data, seq);
      const trip = this.channel.roundTripNow(record);
      if (trip.kind === 'no-listener') {
        this.stats.noListener++;
        return { error: ESRCH, data: EMPTY };
      }
      const reply = trip.kind === 'reply' ? this.decodeReply(trip.reply) : null;
      if (reply === null || reply.seq !== seq) {
        lost++;
        this.timedOut(request, seq);
        continue;
      }
      this.stats.repliesMatched++;
      const result = this.fitReply(reply, replyBytesMax);
      if (result.error === EAGAIN && eagainResends < ULOG_LOAD_EAGAIN_RESENDS_MAX) {
        eagainResends++;
        this.stats.eagainResends++;
        continue;
      }
      return result;
    }
    return { error: ESRCH, data: EMPTY };
  }

  /**
   * `cn_ulog_callback` → `fill_pkg`: hands a reply record to the caller
   * waiting for its seq. A reply nobody waits for (a late reply to a seq
   * that timed out and was resent) is dropped without a message.
   */
  receive(bytes: Uint8Array): void {
    const reply = this.decodeReply(bytes);
    if (reply === null) return;
    const waiter = this.waiters.get(reply.seq);
    if (waiter === undefined) {
      this.stats.lateReplies++;
      this.scheduler.trace('ulog.reply_dropped', reply.seq);
      return;
    }
    this.waiters.delete(reply.seq);
    if (waiter.timer !== null) this.scheduler.cancel(waiter.timer);
    this.stats.repliesMatched++;
    waiter.resume({ kind: 'reply', ...this.fitReply(reply, waiter.replyBytesMax) });
  }

  /** Registers the waiter, arms its timeout, sends; resumes with the send error if the send fails. */
  private sendAndWait(
    request: UlogConsultRequest,
    data: Uint8Array,
    resume: (outcome: Outcome) => void,
  ): void {
    const seq = this.takeSeq();
    const record = this.encode(request, data, seq);
    const waiter: Waiter = {
      seq,
      replyBytesMax: request.replyBytesMax ?? 0,
      resume,
      timer: null,
    };
    assert(!this.waiters.has(seq), `two waiters for seq ${seq}`);
    this.waiters.set(seq, waiter);
    waiter.timer = this.scheduler.schedule(
      DM_ULOG_RETRY_TIMEOUT_TICKS,
      'ulog.timeout',
      () => {
        assert(this.waiters.get(seq) === waiter, `timeout of seq ${seq} without its waiter`);
        this.waiters.delete(seq);
        this.timedOut(request, seq);
        resume({ kind: 'timeout' });
      },
      seq,
    );
    const sendResult = this.sendLocked(record);
    if (sendResult === 0) return;
    // The waiter may already be gone if a channel answered inside send; then the reply stands.
    if (this.waiters.get(seq) !== waiter) return;
    this.waiters.delete(seq);
    this.scheduler.cancel(waiter.timer);
    if (sendResult === ESRCH) this.stats.noListener++;
    resume({ kind: 'send-error', error: sendResult });
  }

  /**
   * `dm_ulog_sendto_server` under `dm_ulog_lock`. Sending is synchronous
   * here, so the lock can never be contended; the flag catches a channel
   * that re-enters the transfer layer while the shared buffer is in use.
   */
  private sendLocked(record: Uint8Array): number {
    assert(!this.sending, 'a request was sent while the shared send buffer was in use');
    this.sending = true;
    try {
      const result = this.channel.send(record);
      assert(result <= 0, `channel send returned ${result}: expected 0 or -errno`);
      return result;
    } finally {
      this.sending = false;
    }
  }

  /** `dm_ulog_seq++` on a u32: every send, resends included, takes the next one. */
  private takeSeq(): number {
    const seq = this.seqNext;
    this.seqNext = (this.seqNext + 1) % U32_MODULUS;
    return seq;
  }

  /** Builds the record in the shared buffer's layout and counts the send. */
  private encode(request: UlogConsultRequest, data: Uint8Array, seq: number): Uint8Array {
    const record = encodeUlogRequest({
      luid: request.luid,
      uuid: request.uuid,
      version: DM_ULOG_REQUEST_VERSION,
      error: 0,
      seq,
      requestType: request.requestType,
      data,
    });
    assert(
      // Stryker disable next-line ConditionalExpression,ArithmeticOperator: equivalent — it holds
      // always: callers refuse data over 332 bytes, and so does the encoder, so a record is at
      // most 492 bytes, and 492 + 20 and 492 − 20 are both ≤ 512.
      record.length + CN_MSG_HEADER_BYTES <= DM_ULOG_PREALLOCED_SIZE,
      // Stryker disable next-line StringLiteral: equivalent — message of an assert that cannot fail
      `a ${record.length}-byte record overflows the preallocated send buffer`,
    );
    this.stats.requestsSent++;
    this.stats.requestsByType[request.requestType] =
      (this.stats.requestsByType[request.requestType] ?? 0) + 1;
    this.scheduler.trace('ulog.send', request.requestType);
    return record;
  }

  /**
   * Reads a reply. A reply the codec refuses but whose header is readable
   * still answers its seq, with the codec's errno (Linux would take its
   * fields as they are; the simulator is strict). Without a header it is
   * dropped.
   */
  private decodeReply(bytes: Uint8Array): { seq: number; error: number; data: Uint8Array } | null {
    try {
      const reply = decodeUlogRequest(bytes, { direction: 'reply' });
      return { seq: reply.seq, error: reply.error, data: reply.data };
    } catch (error) {
      if (!(error instanceof UlogProtocolError)) throw error;
      this.stats.malformedReplies++;
      this.message('error', `Malformed reply from userspace: ${error.message}`);
      if (error.seq === null) return null;
      return { seq: error.seq, error: error.errno, data: EMPTY };
    }
  }

  /** `fill_pkg`: reply data bigger than the caller's buffer becomes -ENOSPC with no data. */
  private fitReply(
    reply: { readonly error: number; readonly data: Uint8Array },
    replyBytesMax: number,
  ): UlogConsultResult {
    if (reply.data.length > replyBytesMax) {
      this.message(
        'error',
        `Insufficient space to receive package (${reply.data.length} vs ${replyBytesMax})`,
      );
      return { error: ENOSPC, data: EMPTY };
    }
    return { error: reply.error, data: reply.error === 0 ? reply.data : EMPTY };
  }

  private timedOut(request: UlogConsultRequest, seq: number): void {
    this.stats.timeouts++;
    // The kernel prints the uuid's last 8 characters, or all of a shorter uuid (slice's too).
    const tail = request.uuid.slice(-8);
    this.message(
      'warning',
      `[${tail}] Request timed out: [${ulogRequestTypeName(request.requestType)}/${seq}] - retrying`,
    );
  }

  private oversize(bytes: number): UlogConsultResult {
    this.message('info', `Size of tfr exceeds preallocated size (${bytes} bytes)`);
    return { error: EINVAL, data: EMPTY };
  }

  private message(level: 'error' | 'warning' | 'info', text: string): void {
    this.messages.push({ timeTicks: this.scheduler.now(), level, text });
  }
}
