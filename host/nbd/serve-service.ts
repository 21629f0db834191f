/**
 * `mirrorsim serve` as one object: the simulated export, its NBD listener
 * and the control endpoint, and what the control endpoint does — status,
 * metrics, fail and restore a device, suspend and resume, and the power cut
 * (every connection drops at once, then power-cut.ts). The CLI command is a
 * thin shell over this; tests start it in-process.
 */
import {
  CRASH_STRATEGIES,
  type CrashStrategy,
  isCrashStrategy,
} from '../../src/block/crash-state.js';
import { countRegionsInSync } from './_internals/regions-in-sync.js';
import { ControlServer, type ControlTarget } from './control-server.js';
import { MirrorExport, type MirrorExportOptions } from './mirror-export.js';
import { type NbdListenAddress, NbdServer } from './nbd-server.js';
import type { PowerCutReport } from './power-cut.js';

/** How `mirrorsim serve` is started: the export, where it listens, its control socket. */
export interface ServeOptions extends MirrorExportOptions {
  readonly listen: NbdListenAddress;
  /** The control socket; none when null. */
  readonly controlPath: string | null;
  /** What devices keep at a power cut unless the request names a strategy. */
  readonly crashState: CrashStrategy;
  /** Where connection and control events are logged (default: nowhere). */
  readonly log?: (line: string) => void;
}

/** One device as `/status` shows it. */
export interface DeviceStatus {
  readonly name: string;
  readonly role: 'leg' | 'log';
  readonly faulty: boolean;
  readonly writes: number;
  readonly flushes: number;
  readonly volatileWrites: number;
}

/** What `GET /status` answers. */
export interface ServeStatus {
  readonly uri: string;
  readonly exportName: string;
  readonly sizeBytes: number;
  readonly clock: string;
  readonly seed: number;
  /** `dmsetup table` and `dmsetup status` lines of the mapped device. */
  readonly table: string;
  readonly status: string;
  readonly regions: number;
  readonly regionsInSync: number | null;
  readonly inSync: boolean;
  readonly suspended: boolean;
  readonly requestsInFlight: number;
  readonly connections: number;
  readonly simulatedSeconds: number;
  readonly events: number;
  readonly traceHash: string;
  readonly devices: readonly DeviceStatus[];
  readonly writesTracked: number;
  readonly readViolations: number;
  readonly readViolationSamples: readonly string[];
  readonly invariantViolations: readonly string[];
  readonly powerCuts: readonly PowerCutReport[];
}

/** A power cut lands fewer than this many simulation events into the next requests. */
export const CUT_EVENTS_INTO_LOAD_MAX = 500;
/** When no request arrives within this many milliseconds, the power is cut at once. */
export const CUT_WAIT_MS = 1000;

/** A running `mirrorsim serve` (see the file comment). */
export class ServeService implements ControlTarget {
  readonly mirrorExport: MirrorExport;
  private cutPending = false;
  /** Ends a pending power cut without cutting (the server is closing). */
  private abandonCut: (() => void) | null = null;
  private nbdServer: NbdServer | null = null;
  private control: ControlServer | null = null;

  private constructor(private readonly options: ServeOptions) {
    this.mirrorExport = new MirrorExport(options);
  }

  /** Builds the export, then listens for clients and (if asked) for control requests. */
  static async start(options: ServeOptions): Promise<ServeService> {
    const service = new ServeService(options);
    const log = options.log ?? (() => {});
    const metrics = service.mirrorExport.metrics;
    try {
      service.nbdServer = await NbdServer.start({
        backend: service.mirrorExport,
        listen: options.listen,
        log,
        onAccepted: () => metrics.connectionsAccepted++,
        onProtocolError: () => metrics.protocolErrors++,
      });
      if (options.controlPath !== null) {
        service.control = await ControlServer.start(options.controlPath, service, log);
      }
    } catch (error) {
      await service.close();
      throw error;
    }
    return service;
  }

  get nbd(): NbdServer {
    if (this.nbdServer === null) throw new RangeError('The NBD listener is not running');
    return this.nbdServer;
  }

  get uri(): string {
    return this.nbd.uri;
  }

  status(): ServeStatus {
    const exported = this.mirrorExport;
    const stack = exported.stack;
    const scheduler = exported.world.scheduler;
    const lengthSectors = stack.table.lengthSectors;
    const table = `${stack.table.startSector} ${lengthSectors} mirror ${stack.status('table')}`;
    const statusLine = `${stack.table.startSector} ${lengthSectors} mirror ${stack.status('info')}`;
    exported.clock.resync();
    const world = exported.worldMetrics(this.nbd.connectionCount);
    return {
      uri: this.uri,
      exportName: exported.profile.name,
      sizeBytes: exported.profile.sizeBytes,
      clock: exported.clock.kind,
      seed: this.options.seed,
      table,
      status: statusLine,
      regions: stack.mirror.regionCount,
      regionsInSync: countRegionsInSync(stack.mirror),
      inSync: stack.mirror.inSync,
      suspended: stack.device.suspended,
      requestsInFlight: exported.requestsInFlight,
      connections: this.nbd.connectionCount,
      simulatedSeconds: scheduler.now() / 1e6,
      events: scheduler.steps,
      traceHash: scheduler.traceHash(),
      devices: world.devices.map(({ name, role, faulty, writes, flushes, volatileWrites }) => ({
        name,
        role,
        faulty,
        writes,
        flushes,
        volatileWrites,
      })),
      writesTracked: exported.oracle.writesIssued,
      readViolations: exported.metrics.readViolations,
      readViolationSamples: exported.readViolations,
      invariantViolations: exported.invariantViolations,
      powerCuts: exported.powerCuts,
    };
  }

  metricsText(): string {
    return this.mirrorExport.metrics.render(
      this.mirrorExport.worldMetrics(this.nbd.connectionCount),
    );
  }

  fail(device: string): ServeStatus {
    this.mirrorExport.failDevice(device);
    return this.status();
  }

  restore(device: string): ServeStatus {
    this.mirrorExport.restoreDevice(device);
    return this.status();
  }

  suspend(): ServeStatus {
    this.mirrorExport.suspend();
    return this.status();
  }

  resume(): ServeStatus {
    this.mirrorExport.resume();
    return this.status();
  }

  /**
   * Pulls the power while requests are in flight: the cut lands between two
   * events of the simulation, a seed-chosen number of events (fewer than
   * {@link CUT_EVENTS_INTO_LOAD_MAX}) after requests were next in the
   * world — or at once when none arrive within {@link CUT_WAIT_MS}. Every
   * connection drops at that moment; then the world crashes, reboots,
   * recovers and is verified (power-cut.ts). Resolves with the report.
   */
  powerCut(crashState: string | null = null): Promise<PowerCutReport> {
    const strategy = crashState ?? this.options.crashState;
    if (!isCrashStrategy(strategy)) {
      throw new RangeError(
        `Invalid crash state "${strategy}": expected one of ${CRASH_STRATEGIES.join(', ')}`,
      );
    }
    if (this.cutPending)
      throw new RangeError('A power cut is already pending: wait for its report');
    this.cutPending = true;
    const exported = this.mirrorExport;
    const number = exported.powerCuts.length + 1;
    const eventsIntoLoad = exported.world.random
      .stream(`power-cut.${number}`)
      .nextInt(0, CUT_EVENTS_INTO_LOAD_MAX - 1);
    return new Promise((resolve, reject) => {
      let busyEvents = 0;
      const settle = () => {
        clearTimeout(timer);
        exported.clock.cancelBreak();
        this.cutPending = false;
        this.abandonCut = null;
      };
      this.abandonCut = () => {
        settle();
        reject(new Error('The server is shutting down: the power cut was not pulled'));
      };
      const cut = () => {
        settle();
        this.nbd.dropAll();
        const report = exported.powerCut(strategy);
        this.options.log?.(
          `power cut ${report.number}: ${report.requestsLost} requests lost, ${report.dirtyRegionsAtCrash} of ${report.regions} regions dirty, ${report.regionsResynced} resynced; oracle ${report.oracle}`,
        );
        exported.clock.kick();
        resolve(report);
      };
      const timer = setTimeout(cut, CUT_WAIT_MS);
      exported.clock.breakBefore(
        () => exported.requestsInFlight > 0 && busyEvents++ >= eventsIntoLoad,
        cut,
      );
      exported.clock.kick();
    });
  }

  /** Stops listening, drops every connection, closes the record file. */
  async close(): Promise<void> {
    this.abandonCut?.();
    await this.control?.close();
    await this.nbdServer?.close();
    this.control = null;
    this.nbdServer = null;
    this.mirrorExport.close();
  }
}
