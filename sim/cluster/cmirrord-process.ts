/**
 * One node's cmirrord as a simulated process (reference
 * userspace-and-cluster-logs.md §4.1): single-threaded and driven by a
 * poll loop whose inputs are the records its node's kernel sends
 * (netlink) and the readable CPG handles. Each poll iteration runs
 * `do_local_work` for one kernel record, then `do_cluster_work`, each to
 * completion: a log device write or the 3 s rejoin sleep blocks the whole
 * daemon, as in cmirrord.
 *
 * It can crash: its memory (every log replica, the startup and working
 * lists), its socket queue and its CPG handles are gone, and the CPG
 * reports PROCDOWN to the other members; a handler waiting on I/O or on
 * its sleep never continues. It restarts with a new pid and no logs. Its
 * devices are seen through {@link ProcessBoundDevice}. It is the far end
 * of a {@link SimUlogTransport} ({@link SimUlogDaemonEnd}).
 *
 * @example
 * ```ts
 * const link = new SimUlogTransport({ scheduler, random, faults: resolveSimUlogFaults() });
 * const process = new CmirrordProcess({
 *   scheduler, nodeid: 1, cpg: (pid) => cpgModel.service(1, pid),
 *   getDevice: (name, sectors) => world.openDevice(name, sectors),
 *   sendToKernel: (reply) => link.sendReply(reply),
 * });
 * link.connectDaemon(process);
 * ```
 */
import { assert } from '../../src/assert.js';
import type { BlockDevice } from '../../src/block/block-device.js';
import { type Blocking, spawn } from '../../src/concurrency/blocking.js';
import { Cmirrord } from '../../src/log/cluster/cmirrord.js';
import type { ScheduledEvent, Scheduler } from '../../src/world/scheduler.js';
import { ProcessBoundDevice } from '../userspace/process-bound-device.js';
import type { SimUlogDaemonEnd } from '../userspace/sim-ulog-daemon-end.js';
import type { CpgProcessService } from './cpg/cpg-model.js';

/** How a {@link CmirrordProcess} is built. */
export interface CmirrordProcessOptions {
  readonly scheduler: Scheduler;
  /** This node's id in the cluster (the CPG service's, for the trace). */
  readonly nodeid: number;
  /** The CPG service as process `pid` of this node reaches it. */
  readonly cpg: (pid: number) => CpgProcessService;
  /** Opens a log device of the world (creating it at `minimumSizeSectors` when missing). */
  readonly getDevice: (name: string, minimumSizeSectors: number) => BlockDevice;
  /** Hands a reply record to this node's kernel (the link's return path). */
  readonly sendToKernel: (reply: Uint8Array) => void;
  /** The first pid; every restart takes the next (default 1000 × nodeid). */
  readonly pidBase?: number;
  /** `local_resume`'s 3 s rejoin sleep; default on (§4.9). */
  readonly rejoinDelay?: boolean;
  /** `<major>:<minor>` of a log device for status lines; default its name. */
  readonly deviceNumber?: (name: string) => string;
}

/** Counters over every run of the process. */
export interface CmirrordProcessStats {
  crashes: number;
  restarts: number;
  /** Poll loop iterations. */
  polls: number;
  /** Kernel records that arrived while the daemon was down or for an earlier run. */
  deliveriesLost: number;
  /** Kernel records queued or being handled when the process crashed. */
  lostAtCrash: number;
}

/** The simulated process (see the file comment). */
export class CmirrordProcess implements SimUlogDaemonEnd {
  readonly stats: CmirrordProcessStats = {
    crashes: 0,
    restarts: 0,
    polls: 0,
    deliveriesLost: 0,
    lostAtCrash: 0,
  };
  /** The daemon's log lines, newest last (at most 512). */
  readonly messages: string[] = [];
  private readonly options: CmirrordProcessOptions;
  private incarnation = 0;
  private up = true;
  private logic: Cmirrord;
  private service: CpgProcessService;
  /** The netlink socket's queue. */
  private queue: Uint8Array[] = [];
  private cpgReadable = false;
  private busy = false;
  private pollEvent: ScheduledEvent | null = null;

  constructor(options: CmirrordProcessOptions) {
    this.options = options;
    const { service, logic } = this.start();
    this.service = service;
    this.logic = logic;
  }

  /** A daemon is running and listening on the connector. */
  get listening(): boolean {
    return this.up;
  }

  /** Which run this is: bumped by every crash and restart. */
  get generation(): number {
    return this.incarnation;
  }

  /** The current process's pid. */
  get pid(): number {
    return this.service.pid;
  }

  /** The running daemon (white-box, read-only use: its logs, CPGs and counters). */
  get daemon(): Cmirrord {
    return this.logic;
  }

  /** Kernel records waiting in the socket queue. */
  get queued(): number {
    return this.queue.length;
  }

  /** Whether an input is being handled (the daemon is blocked in it or runs it). */
  get handling(): boolean {
    return this.busy;
  }

  /** A record from the kernel arrives on the socket of run `generation`. */
  deliver(record: Uint8Array, generation: number): void {
    if (!this.up || generation !== this.incarnation) {
      this.stats.deliveriesLost++;
      return;
    }
    this.queue.push(record);
    this.schedulePoll();
  }

  /** The table-load path: CTR and GET_REGION_SIZE answered inside the call. */
  handleNow(record: Uint8Array): Uint8Array | null {
    assert(this.up, 'a request was handled by a cmirrord that is down');
    return this.logic.handleNow(record);
  }

  /** The process dies now: memory, queue and CPG handles gone (the others see PROCDOWN). */
  crash(): void {
    if (!this.up) return;
    this.stats.crashes++;
    this.stats.lostAtCrash += this.queue.length + (this.busy ? 1 : 0);
    this.up = false;
    this.incarnation++;
    this.queue = [];
    this.busy = false;
    this.cpgReadable = false;
    if (this.pollEvent !== null) this.options.scheduler.cancel(this.pollEvent);
    this.pollEvent = null;
    this.service.processExited();
    this.options.scheduler.trace('cmirrord.crash', this.options.nodeid);
  }

  /** Starts a fresh process with a new pid and no logs (crashing a live one first). */
  restart(): void {
    this.crash();
    this.incarnation++;
    const { service, logic } = this.start();
    this.service = service;
    this.logic = logic;
    this.up = true;
    this.stats.restarts++;
    this.options.scheduler.trace('cmirrord.restart', this.options.nodeid);
  }

  private start(): { service: CpgProcessService; logic: Cmirrord } {
    const generation = this.incarnation;
    const alive = () => this.up && this.incarnation === generation;
    const pid = (this.options.pidBase ?? 1000 * this.options.nodeid) + generation;
    const service = this.options.cpg(pid);
    const scheduler = this.options.scheduler;
    const logic = new Cmirrord({
      // Timers of a dead process never fire: its sleep ends with it.
      scheduler: {
        now: () => scheduler.now(),
        trace: (label, detail) => scheduler.trace(label, detail),
        cancel: (event) => scheduler.cancel(event),
        schedule: (delay, label, callback, detail) =>
          scheduler.schedule(
            delay,
            label,
            () => {
              if (alive()) callback();
            },
            detail,
          ),
      },
      cpg: service,
      pid,
      getDevice: (name, sectors) =>
        new ProcessBoundDevice(this.options.getDevice(name, sectors), alive),
      sendToKernel: (reply) => {
        if (alive()) this.options.sendToKernel(reply);
      },
      cpgReadable: () => {
        if (!alive()) return;
        this.cpgReadable = true;
        this.schedulePoll();
      },
      onMessage: (text) => this.note(text),
      ...(this.options.rejoinDelay === undefined ? {} : { rejoinDelay: this.options.rejoinDelay }),
      ...(this.options.deviceNumber === undefined
        ? {}
        : { deviceNumber: this.options.deviceNumber }),
    });
    return { service, logic };
  }

  private schedulePoll(): void {
    if (!this.up || this.busy || this.pollEvent !== null) return;
    if (this.queue.length === 0 && !this.cpgReadable) return;
    this.pollEvent = this.options.scheduler.schedule(
      0,
      'cmirrord.poll',
      () => {
        this.pollEvent = null;
        this.poll();
      },
      this.options.nodeid,
    );
  }

  /** One `links_monitor` + `links_issue_callbacks` round: the local fd first, then the cluster fds. */
  private poll(): void {
    if (!this.up || this.busy) return;
    this.stats.polls++;
    this.busy = true;
    const generation = this.incarnation;
    spawn(this.iteration(), () => {
      if (generation !== this.incarnation) return;
      this.busy = false;
      this.schedulePoll();
    });
  }

  private *iteration(): Blocking<void> {
    const record = this.queue.shift();
    if (record !== undefined) yield* this.logic.doLocalWork(record);
    if (this.cpgReadable) {
      this.cpgReadable = false;
      yield* this.logic.doClusterWork();
    }
  }

  private note(text: string): void {
    this.messages.push(text);
    if (this.messages.length > 512) this.messages.shift();
  }
}
