/**
 * The log daemon as a simulated process: an actor with a mailbox that
 * takes one request at a time and handles it to completion with the shared
 * {@link UlogDaemon} logic, over backing devices of the world.
 *
 * It can crash: its memory (every log it served) and its mailbox are lost,
 * a handler waiting on I/O never continues, and until it restarts nobody
 * listens. Backing logs kept on devices (a `disk` log) survive on them,
 * with whatever those devices made durable. Crashes come from the fault
 * model's seeded draws or are injected explicitly.
 */
import { assert } from '../../src/assert.js';
import type { BlockDevice } from '../../src/block/block-device.js';
import { type Blocking, runNonBlocking, spawn } from '../../src/concurrency/blocking.js';
import { ULOG_HEADER_OFFSETS } from '../../src/log/userspace/ulog-constants.js';
import { UlogDaemon } from '../../src/log/userspace/ulog-daemon.js';
import { UlogProtocolError } from '../../src/log/userspace/ulog-protocol-error.js';
import { buildUlogErrorReply } from '../../src/log/userspace/ulog-reply.js';
import { decodeUlogRequest, encodeUlogRequest } from '../../src/log/userspace/ulog-request.js';
import type { RandomSource, RandomStream } from '../../src/world/random-stream.js';
import type { ScheduledEvent, Scheduler } from '../../src/world/scheduler.js';
import { ProcessBoundDevice } from './process-bound-device.js';
import type { ResolvedSimUlogFaults } from './sim-ulog-faults.js';

/** How a {@link SimUlogDaemon} is built. */
export interface SimUlogDaemonOptions {
  readonly scheduler: Scheduler;
  /** Streams `ulogd.crash` and `ulogd.restart` are drawn from it. */
  readonly random: RandomSource;
  readonly faults: ResolvedSimUlogFaults;
  /** Opens (creating on demand) a device of the world for a backing log. */
  readonly getDevice: (name: string, minimumSizeSectors: number) => BlockDevice;
  /** Where replies go (the transport's return path). */
  readonly sendReply: (reply: Uint8Array) => void;
}

/** Counters of the simulated daemon. */
export interface SimUlogDaemonStats {
  handled: number;
  crashes: number;
  restarts: number;
  /** Requests that arrived while the daemon was down or for an earlier incarnation. */
  deliveriesLost: number;
  /** Requests in the mailbox (or being handled) when the daemon crashed. */
  lostAtCrash: number;
  /** Records that could not be decoded. */
  malformed: number;
}

/** The simulated daemon process (see the file comment). */
export class SimUlogDaemon {
  readonly stats: SimUlogDaemonStats = {
    handled: 0,
    crashes: 0,
    restarts: 0,
    deliveriesLost: 0,
    lostAtCrash: 0,
    malformed: 0,
  };
  /** Lines the daemon logged (refused requests, backing log events). */
  readonly messages: string[] = [];
  /**
   * Test hook: called after each request taken from the mailbox is handled
   * and its reply sent, with the request's type; a test can crash the
   * daemon at an exact point of a protocol exchange from here.
   */
  onHandled: ((requestType: number) => void) | null = null;
  private readonly options: SimUlogDaemonOptions;
  private readonly crashRandom: RandomStream;
  private readonly restartRandom: RandomStream;
  private logic: UlogDaemon;
  private incarnation = 0;
  private up = true;
  private mailbox: Uint8Array[] = [];
  private busy = false;
  /** The scheduled "take the next request" event, if any. */
  private pumpEvent: ScheduledEvent | null = null;

  constructor(options: SimUlogDaemonOptions) {
    this.options = options;
    this.crashRandom = options.random.stream('ulogd.crash');
    this.restartRandom = options.random.stream('ulogd.restart');
    this.logic = this.newLogic();
  }

  /** A daemon process is running and listening. */
  get listening(): boolean {
    return this.up;
  }

  /** Which run of the process this is: bumped by every crash. */
  get generation(): number {
    return this.incarnation;
  }

  /** The current process's state (for white-box tests). */
  get state(): UlogDaemon {
    return this.logic;
  }

  /** Requests waiting in the mailbox. */
  get queued(): number {
    return this.mailbox.length;
  }

  /** A request arrives on the socket of incarnation `generation`; lost if that process died. */
  deliver(record: Uint8Array, generation: number): void {
    if (!this.up || generation !== this.incarnation) {
      this.stats.deliveriesLost++;
      return;
    }
    this.mailbox.push(record);
    this.queuePump();
  }

  /**
   * The process dies now. It restarts after `restartAfterTicks` (drawn from
   * the fault model when not given), or never with null.
   */
  crash(options: { readonly restartAfterTicks?: number | null } = {}): void {
    if (!this.up) return;
    this.stats.crashes++;
    this.stats.lostAtCrash += this.mailbox.length + (this.busy ? 1 : 0);
    this.incarnation++;
    this.up = false;
    this.mailbox = [];
    this.busy = false;
    this.cancelPump();
    this.options.scheduler.trace('ulogd.crash', this.incarnation);
    const delay =
      options.restartAfterTicks === undefined ? this.drawRestartDelay() : options.restartAfterTicks;
    if (delay === null) return;
    const generation = this.incarnation;
    this.options.scheduler.schedule(delay, 'ulogd.restart', () => {
      if (!this.up && this.incarnation === generation) this.restart();
    });
  }

  /** Starts a fresh process: no logs, empty mailbox. Restarting a live daemon crashes it first. */
  restart(): void {
    if (this.up) this.crash({ restartAfterTicks: null });
    this.incarnation++;
    this.logic = this.newLogic();
    this.up = true;
    this.busy = false;
    // After a machine crash the scheduler dropped every event; a stale handle must not block pumping.
    this.cancelPump();
    this.stats.restarts++;
    this.options.scheduler.trace('ulogd.restart', this.incarnation);
  }

  /**
   * Handles a request inside the call, bypassing the mailbox: the
   * table-load path ({@link UlogChannel.roundTripNow}). Only for requests
   * whose handling never blocks (CTR, GET_REGION_SIZE and the like).
   */
  handleNow(record: Uint8Array): Uint8Array | null {
    assert(this.up, 'a request was handled by a daemon that is down');
    return runNonBlocking(this.handleRecord(record), 'daemon request on the table-load path');
  }

  private queuePump(): void {
    if (this.pumpEvent !== null || this.busy) return;
    this.pumpEvent = this.options.scheduler.schedule(0, 'ulogd.take', () => {
      this.pumpEvent = null;
      this.takeNext();
    });
  }

  private cancelPump(): void {
    if (this.pumpEvent !== null) this.options.scheduler.cancel(this.pumpEvent);
    this.pumpEvent = null;
  }

  /** Takes one request from the mailbox and handles it to completion. */
  private takeNext(): void {
    if (!this.up || this.busy) return;
    const record = this.mailbox.shift();
    if (record === undefined) return;
    const crashing = this.crashRandom.nextBoolean(this.options.faults.daemonCrashProbability);
    if (crashing && this.crashRandom.nextBoolean(0.5)) {
      this.crash();
      return;
    }
    this.busy = true;
    const generation = this.incarnation;
    spawn(this.handleRecord(record), (reply) => {
      if (generation !== this.incarnation) return;
      this.busy = false;
      this.stats.handled++;
      if (crashing) {
        // Handled, state changed, but the reply dies with the process.
        this.crash();
        return;
      }
      if (reply !== null) this.options.sendReply(reply);
      this.onHandled?.(requestTypeOf(record));
      if (this.up && this.mailbox.length > 0) this.queuePump();
    });
  }

  /** Decode, handle, encode; a record that cannot be decoded gets an error reply if it can. */
  private *handleRecord(record: Uint8Array): Blocking<Uint8Array | null> {
    let request: ReturnType<typeof decodeUlogRequest>;
    try {
      request = decodeUlogRequest(record);
    } catch (error) {
      if (!(error instanceof UlogProtocolError)) throw error;
      this.stats.malformed++;
      this.note(`bad record: ${error.message}`);
      const answer = buildUlogErrorReply(error);
      return answer.answerable ? answer.bytes : null;
    }
    const reply = yield* this.logic.handle(request);
    return encodeUlogRequest(reply, { direction: 'reply' });
  }

  /** The daemon logic of the current incarnation; its devices die with it. */
  private newLogic(): UlogDaemon {
    const generation = this.incarnation;
    return new UlogDaemon({
      scheduler: this.options.scheduler,
      getDevice: (name, minimumSizeSectors) =>
        new ProcessBoundDevice(
          this.options.getDevice(name, minimumSizeSectors),
          () => this.up && this.incarnation === generation,
        ),
      onMessage: (text) => this.note(text),
    });
  }

  private drawRestartDelay(): number {
    const range = this.options.faults.daemonRestartDelay;
    return this.restartRandom.nextInt(range.minTicks, range.maxTicks);
  }

  private note(text: string): void {
    this.messages.push(text);
    if (this.messages.length > 256) this.messages.shift();
  }
}

/** The raw `request_type` of a record (0 when it is too short to have one). */
function requestTypeOf(record: Uint8Array): number {
  if (record.length < ULOG_HEADER_OFFSETS.requestType + 4) return 0;
  return new DataView(record.buffer, record.byteOffset).getUint32(
    ULOG_HEADER_OFFSETS.requestType,
    true,
  );
}
