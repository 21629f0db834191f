/**
 * A {@link UlogChannel} to a real log daemon on a Unix socket, for
 * `mirrorsim run --log-daemon PATH`. The simulation is synchronous, so
 * each request is a blocking round trip from its point of view: a worker
 * thread owns the socket, and the simulation thread waits on a
 * SharedArrayBuffer (`Atomics.wait`) until the worker reports the reply,
 * that nobody listens, or that the request or its reply was lost.
 *
 * The reply then reaches the kernel as a scheduler event after a fixed
 * simulated latency; the wall time the round trip took is not simulated
 * time. How the socket's failures map to the kernel's view:
 *
 * - connection refused or no socket file: nobody listens (`-ESRCH`), after
 *   a short real pause so the kernel's 2 s reconnect loop does not spin;
 * - the connection closes, or no reply within the real-time limit: the
 *   request counts as lost, and the kernel resends after its 15 s;
 * - a reply for an older seq (a late reply): dropped by the worker.
 *
 * The kernel retries forever (§2.7: a reconnect every 2 s; §3: a resend
 * every 15 s). A simulation cannot wait forever for a daemon that was
 * killed and never restarted, so once the daemon has not answered for
 * `giveUpAfterMs` of real time the channel throws a
 * {@link LogDaemonUnreachableError}, which ends the run.
 */
import { Worker } from 'node:worker_threads';
import { ESRCH } from '../src/errno.js';
import type {
  UlogChannel,
  UlogChannelEndpoint,
  UlogRoundTrip,
} from '../src/log/userspace/ulog-channel.js';
import { DM_ULOG_REQUEST_SIZE, ULOG_HEADER_OFFSETS } from '../src/log/userspace/ulog-constants.js';
import { SOCKET_PATH_BYTES_MAX } from './ulog-daemon-server.js';
import { ULOG_SOCKET_WORKER_SOURCE } from './ulog-socket-worker-source.js';

/** How a {@link UlogSocketChannel} is set up. */
export interface UlogSocketChannelOptions {
  readonly socketPath: string;
  /** Real time to wait for one reply before counting the request lost (default 5000 ms). */
  readonly replyTimeoutMs?: number;
  /** Real pause before reporting that nobody listens (default 50 ms). */
  readonly noListenerPauseMs?: number;
  /** Simulated latency of a reply, in ticks (default 50 µs). */
  readonly replyLatencyTicks?: number;
  /** Real time without any reply after which the channel gives up (default: never). */
  readonly giveUpAfterMs?: number;
}

/** The daemon has answered nothing for longer than the channel waits (see the file comment). */
export class LogDaemonUnreachableError extends Error {
  override name = 'LogDaemonUnreachableError';
}

/** Counters of the client. */
export interface UlogSocketChannelStats {
  roundTrips: number;
  replies: number;
  noListener: number;
  lost: number;
}

const STATUS_REPLY = 0;
const STATUS_NO_LISTENER = 1;
const CONTROL_WORDS = 4;
const STATE_POSTED = 1;
const STATE_DONE = 2;

/** The synchronous Unix-socket client (see the file comment). */
export class UlogSocketChannel implements UlogChannel {
  readonly socketPath: string;
  /** Different for every simulator process, so several share one daemon without luid clashes. */
  readonly luidBase: bigint;
  readonly stats: UlogSocketChannelStats = { roundTrips: 0, replies: 0, noListener: 0, lost: 0 };
  private readonly worker: Worker;
  private readonly control: Int32Array;
  private readonly data: Uint8Array;
  private readonly replyTimeoutMs: number;
  private readonly noListenerPauseMs: number;
  private readonly replyLatencyTicks: number;
  private readonly giveUpAfterMs: number;
  private endpoint: UlogChannelEndpoint | null = null;
  private nextId = 1;
  private closed = false;
  /** When the current run of unanswered round trips began (wall clock), or null after a reply. */
  private unansweredSinceMs: number | null = null;

  constructor(options: UlogSocketChannelOptions) {
    const pathBytes = Buffer.byteLength(options.socketPath);
    if (pathBytes > SOCKET_PATH_BYTES_MAX) {
      // Node would connect to the path cut to sun_path's size: perhaps some other socket.
      throw new RangeError(
        `Socket path "${options.socketPath}" is ${pathBytes} bytes: expected at most ${SOCKET_PATH_BYTES_MAX} (sun_path)`,
      );
    }
    this.socketPath = options.socketPath;
    this.replyTimeoutMs = options.replyTimeoutMs ?? 5000;
    this.noListenerPauseMs = options.noListenerPauseMs ?? 50;
    this.replyLatencyTicks = options.replyLatencyTicks ?? 50;
    this.giveUpAfterMs = options.giveUpAfterMs ?? Number.POSITIVE_INFINITY;
    const shared = new SharedArrayBuffer(CONTROL_WORDS * 4 + DM_ULOG_REQUEST_SIZE);
    this.control = new Int32Array(shared, 0, CONTROL_WORDS);
    this.data = new Uint8Array(shared, CONTROL_WORDS * 4);
    this.luidBase = (BigInt(process.pid) << 40n) | BigInt(Date.now() % 2 ** 40);
    this.worker = new Worker(ULOG_SOCKET_WORKER_SOURCE, {
      eval: true,
      workerData: { socketPath: this.socketPath, shared },
    });
    // The worker must not keep a finished simulation alive.
    this.worker.unref();
  }

  /** Where replies go: the kernel of the current boot. */
  attach(endpoint: UlogChannelEndpoint): void {
    this.endpoint = endpoint;
  }

  /** One blocking round trip; a reply reaches the kernel later as a scheduler event. */
  send(record: Uint8Array): number {
    const trip = this.roundTripNow(record);
    if (trip.kind === 'no-listener') return ESRCH;
    if (trip.kind === 'reply') {
      const endpoint = this.endpoint;
      if (endpoint === null) throw new RangeError('The socket channel has no kernel attached');
      endpoint.scheduler.schedule(this.replyLatencyTicks, 'ulog.reply', () =>
        endpoint.receive(trip.reply),
      );
    }
    return 0;
  }

  /** Sends `record` and waits (really) for its outcome. */
  roundTripNow(record: Uint8Array): UlogRoundTrip {
    if (this.closed) throw new RangeError(`The socket channel to "${this.socketPath}" is closed`);
    this.stats.roundTrips++;
    const id = this.nextId++;
    const seq = new DataView(record.buffer, record.byteOffset).getUint32(
      ULOG_HEADER_OFFSETS.seq,
      true,
    );
    Atomics.store(this.control, 0, STATE_POSTED);
    this.worker.postMessage({
      kind: 'request',
      id,
      seq,
      bytes: record,
      timeoutMs: this.replyTimeoutMs,
      noListenerPauseMs: this.noListenerPauseMs,
    });
    // The worker always answers within its own timeout; the extra margin only guards a dead worker.
    const deadline = this.replyTimeoutMs + this.noListenerPauseMs + 5000;
    Atomics.wait(this.control, 0, STATE_POSTED, deadline);
    const trip = this.collect(id);
    this.checkAnswered(trip);
    return trip;
  }

  /** What the worker reported for request `id`. */
  private collect(id: number): UlogRoundTrip {
    if (Atomics.load(this.control, 0) !== STATE_DONE || Atomics.load(this.control, 3) !== id) {
      this.stats.lost++;
      return { kind: 'lost' };
    }
    const status = Atomics.load(this.control, 1);
    if (status === STATUS_NO_LISTENER) {
      this.stats.noListener++;
      return { kind: 'no-listener' };
    }
    if (status !== STATUS_REPLY) {
      this.stats.lost++;
      return { kind: 'lost' };
    }
    this.stats.replies++;
    const length = Atomics.load(this.control, 2);
    return { kind: 'reply', reply: this.data.slice(0, length) };
  }

  /** Gives up once nothing has been answered for `giveUpAfterMs`. */
  private checkAnswered(trip: UlogRoundTrip): void {
    const nowMs = performance.now();
    if (trip.kind === 'reply') {
      this.unansweredSinceMs = null;
      return;
    }
    this.unansweredSinceMs ??= nowMs;
    const silentMs = nowMs - this.unansweredSinceMs;
    if (silentMs < this.giveUpAfterMs) return;
    const why =
      trip.kind === 'no-listener'
        ? 'nobody listens on it (was the daemon killed?)'
        : 'requests go unanswered';
    throw new LogDaemonUnreachableError(
      `The log daemon on "${this.socketPath}" has not answered for ${Math.round(silentMs / 1000)} s: ${why}; gave up (the kernel would retry forever, userspace §2.7). Restart it with mirrorsim log-daemon --socket, or raise --log-daemon-timeout`,
    );
  }

  /** Stops the worker and closes the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.terminate();
  }
}
