/**
 * The simulated world of one run: the deterministic scheduler, the seeded
 * random source, and the devices, with crash orchestration. A crash stops
 * the world between two events: every pending event is dropped (everything
 * in memory is lost) and every device independently keeps its durable
 * content plus a strategy-chosen subset of what was not yet durable.
 */

import type { CrashStrategy } from '../src/block/crash-state.js';
import {
  type CrashReport,
  SimulatedDevice,
  type SimulatedDeviceOptions,
} from '../src/block/simulated-device.js';
import { Hash64 } from '../src/hash.js';
import { SeededRandom } from './random.js';
import { DeterministicScheduler, type DeterministicSchedulerOptions } from './scheduler.js';

export interface WorldOptions extends DeterministicSchedulerOptions {
  readonly seed: number;
}

export interface WorldCrashReport {
  /** Simulation events run before the crash. */
  readonly atStep: number;
  readonly atTicks: number;
  readonly droppedEvents: number;
  readonly devices: CrashReport[];
  /** Stable id of the whole crash state: every device's state id combined. */
  readonly stateId: string;
}

export type DeviceSpec = Omit<SimulatedDeviceOptions, 'scheduler' | 'random'>;

/** How a device a table names is created when it does not exist yet. */
export type DeviceDefaults = Omit<DeviceSpec, 'name' | 'sizeSectors'>;

export class World {
  readonly seed: number;
  readonly scheduler: DeterministicScheduler;
  readonly random: SeededRandom;
  private readonly deviceMap = new Map<string, SimulatedDevice>();

  constructor(options: WorldOptions) {
    this.seed = options.seed;
    this.scheduler = new DeterministicScheduler(options);
    this.random = new SeededRandom(options.seed);
  }

  /** Creates a device in this world. Names are unique. */
  createDevice(spec: DeviceSpec): SimulatedDevice {
    if (this.deviceMap.has(spec.name)) {
      throw new RangeError(`Device "${spec.name}" already exists in this world`);
    }
    const device = new SimulatedDevice({ ...spec, scheduler: this.scheduler, random: this.random });
    this.deviceMap.set(spec.name, device);
    return device;
  }

  /**
   * `dm_get_device` in a simulated world: the device named `name`, created
   * with `defaults` at the smallest whole number of its logical blocks that
   * holds `minimumSizeSectors` (at least one block) if it does not exist.
   */
  openDevice(
    name: string,
    minimumSizeSectors: number,
    defaults: DeviceDefaults = {},
  ): SimulatedDevice {
    const existing = this.deviceMap.get(name);
    if (existing !== undefined) return existing;
    const blockSectors = (defaults.logicalBlockSizeBytes ?? 512) / 512;
    const sizeSectors = Math.max(
      blockSectors,
      Math.ceil(minimumSizeSectors / blockSectors) * blockSectors,
    );
    return this.createDevice({ ...defaults, name, sizeSectors });
  }

  device(name: string): SimulatedDevice {
    const device = this.deviceMap.get(name);
    if (device === undefined) throw new RangeError(`No device "${name}" in this world`);
    return device;
  }

  get devices(): SimulatedDevice[] {
    return [...this.deviceMap.values()];
  }

  /**
   * Crashes the whole world now. `strategy` is one strategy for every device
   * or a function choosing one per device.
   */
  crash(strategy: CrashStrategy | ((device: SimulatedDevice) => CrashStrategy)): WorldCrashReport {
    const atStep = this.scheduler.steps;
    const atTicks = this.scheduler.now();
    const droppedEvents = this.scheduler.clear();
    const devices = this.devices.map((device) =>
      device.crash(typeof strategy === 'function' ? strategy(device) : strategy),
    );
    const hash = new Hash64().integer(atStep);
    for (const report of devices) hash.string(report.deviceName).string(report.stateId);
    return { atStep, atTicks, droppedEvents, devices, stateId: hash.hex() };
  }
}
