/**
 * A mirror stack in a simulated world: a mapped device whose table is a
 * `mirror` line, over simulated devices created on demand at the size the
 * table implies (a leg: its offset plus the target length; a log device:
 * what the log needs). After a crash, {@link MirrorStack.reboot} builds a
 * fresh stack from the same table over the surviving images, as a machine
 * coming back up would.
 */
import type { SimulatedDevice } from '../src/block/simulated-device.js';
import { MappedDevice } from '../src/dm/mapped-device.js';
import '../src/log/builtin-logs.js';
import type { StatusType } from '../src/log/dirty-log.js';
import type { UlogChannel } from '../src/log/userspace/ulog-channel.js';
import { createMirrorTarget, type DeviceRole } from '../src/mirror/mirror-ctr.js';
import type { MirrorSet } from '../src/mirror/mirror-set.js';
import { TableError } from '../src/table/table-error.js';
import { parseTableLine, type TableLine } from '../src/table/table-line.js';
import { runTask } from './run-task.js';
import { existingUlogMachine, ulogMachineOf } from './userspace/ulog-machine.js';
import type { DeviceDefaults, World } from './world.js';

export type { DeviceDefaults };

export interface MirrorStackOptions {
  readonly world: World;
  /** A dm table line, e.g. `0 131072 mirror core 1 1024 2 leg0 0 leg1 0`. */
  readonly table: string;
  readonly legDefaults?: DeviceDefaults;
  readonly logDeviceDefaults?: DeviceDefaults;
  /** `raid1_resync_throttle`, percent (default 100). */
  readonly resyncThrottlePercent?: number;
  /**
   * Beyond Linux: recover runs of regions unwritten on every leg at once
   * (src/mirror/sparse-resync.ts). Default false: every region is copied.
   */
  readonly sparseResync?: boolean;
  /** The mapped device's name (default `mirror`). */
  readonly name?: string;
  /**
   * Where `userspace` logs find their daemon: a channel to a real one
   * (`mirrorsim run --log-daemon`); the world's in-process daemon when absent.
   */
  readonly userspaceChannel?: UlogChannel;
}

export class MirrorStack {
  readonly world: World;
  readonly table: TableLine;
  readonly tableText: string;
  readonly device: MappedDevice;
  /** Devices the table named, by role, in table order. */
  readonly legDevices: SimulatedDevice[] = [];
  readonly logDevices: SimulatedDevice[] = [];
  private readonly options: MirrorStackOptions;
  private readonly loadedTarget: MirrorSet;

  /** Builds the stack and loads its table (`dmsetup load`). Throws TableError for a bad table. */
  constructor(options: MirrorStackOptions) {
    this.options = options;
    this.world = options.world;
    this.tableText = options.table.trim();
    this.table = parseTableLine(options.table);
    if (this.table.targetType !== 'mirror') {
      throw new TableError(`Unknown target type "${this.table.targetType}": expected mirror`);
    }
    this.device = new MappedDevice(options.name ?? 'mirror', this.world.scheduler);
    this.loadedTarget = this.buildTarget(this.table);
    runTask(this.world.scheduler, this.device.load(this.loadedTarget), { what: 'table load' });
  }

  /** The live mirror target (the loaded one before the first resume). */
  get mirror(): MirrorSet {
    return (this.device.target ?? this.device.inactive ?? this.loadedTarget) as MirrorSet;
  }

  /** `dmsetup resume` after load: the device goes live. */
  activate(): void {
    runTask(this.world.scheduler, this.device.resume(), { what: 'resume' });
  }

  /** Loads a new table line and swaps it in (load, suspend, resume), as a reload does. */
  reload(table: string, options: { readonly noflush?: boolean } = {}): void {
    const line = parseTableLine(table);
    const target = this.buildTarget(line);
    runTask(this.world.scheduler, this.device.load(target), { what: 'table load' });
    runTask(this.world.scheduler, this.device.suspend({ noflush: options.noflush === true }), {
      what: 'suspend',
    });
    runTask(this.world.scheduler, this.device.resume(), { what: 'resume' });
  }

  suspend(options: { readonly noflush?: boolean } = {}): void {
    runTask(this.world.scheduler, this.device.suspend({ noflush: options.noflush === true }), {
      what: 'suspend',
    });
  }

  resume(): void {
    runTask(this.world.scheduler, this.device.resume(), { what: 'resume' });
  }

  /** The status text as `dmsetup status` / `dmsetup table` print it after `start length mirror`. */
  status(type: StatusType): string {
    return runTask(this.world.scheduler, this.device.status(type), { what: `status ${type}` });
  }

  /**
   * A fresh stack over the same devices, as after a reboot: the same table,
   * new in-memory state, loaded but not yet resumed.
   */
  reboot(): MirrorStack {
    // The machine's kernel and its in-process log daemon restart too.
    existingUlogMachine(this.world)?.reboot();
    return new MirrorStack({ ...this.options, table: this.tableText });
  }

  private buildTarget(line: TableLine): MirrorSet {
    return createMirrorTarget(line.args, {
      scheduler: this.world.scheduler,
      lengthSectors: line.lengthSectors,
      getDevice: (name, minimumSizeSectors, role) => this.getDevice(name, minimumSizeSectors, role),
      raiseEvent: (reason) => this.device.raiseEvent(reason),
      userspaceTransfer: () => this.userspaceMachine().transfer(),
      ...(this.options.resyncThrottlePercent === undefined
        ? {}
        : { resyncThrottlePercent: this.options.resyncThrottlePercent }),
      ...(this.options.sparseResync === undefined
        ? {}
        : { sparseResync: this.options.sparseResync }),
    });
  }

  /** The world's userspace-log plumbing, created when a `userspace` log first needs it. */
  private userspaceMachine() {
    return ulogMachineOf(this.world, {
      ...(this.options.userspaceChannel === undefined
        ? {}
        : { channel: this.options.userspaceChannel }),
      ...(this.options.logDeviceDefaults === undefined
        ? {}
        : { deviceDefaults: this.options.logDeviceDefaults }),
    });
  }

  private getDevice(name: string, minimumSizeSectors: number, role: DeviceRole): SimulatedDevice {
    if (!/^[A-Za-z0-9_.:-]+$/.test(name)) {
      throw new TableError(`Invalid device name "${name}": expected letters, digits, _ . : -`);
    }
    const defaults =
      (role === 'leg' ? this.options.legDefaults : this.options.logDeviceDefaults) ?? {};
    const device = this.world.openDevice(name, minimumSizeSectors, defaults);
    const list = role === 'leg' ? this.legDevices : this.logDevices;
    if (!list.includes(device)) list.push(device);
    return device;
  }
}
